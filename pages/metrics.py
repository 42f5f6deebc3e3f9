"""Metrics: an honest report of a saved run, computed from its stored predictions (no retraining)."""
import pandas as pd
import streamlit as st

from core.evaluate import charts as charts
from core.evaluate import (MetricReport, at_threshold, best_f1_threshold, positive_scores, threshold_sentence,
                           threshold_sweep)
from ui.advice import money_view, run_advice, run_report, show_advice
from ui.common import caption, chart, class_names, current_run, select, user_errors
from ui.runs import finished_runs, run_predictions
from ui import slices as slices_view

st.title("How good is the model?")
caption("Scores on rows the model never saw while training, next to its scores on the rows it learned from.")

runs = [r for r in finished_runs() if r.kind != "recommender"]  # those open on Recommend
run = current_run()
if not runs:
    st.info("No finished runs yet. Train a model first.")
    st.page_link("pages/train.py", label="Go to Train →", icon=":material/model_training:")
    st.stop()
ids = [r.id for r in runs]
labels = {r.id: f"{r.name} · {r.created_at:%Y-%m-%d %H:%M} · {r.id}" for r in runs}
if run is None or run.id not in ids:
    if run is not None and run.status in ("queued", "running"):
        st.info(f"Run {run.id} is still training ({run.progress:.0%}). Showing the latest finished run meanwhile.")
    run = runs[0]
select("run", run.id)
st.session_state["metrics_run"] = run.id
st.selectbox("Run", ids, format_func=labels.get, key="metrics_run",
             on_change=lambda: select("run", st.session_state["metrics_run"]))

report = MetricReport.from_dict(run.metrics)
named = report.named(class_names(run.dataset_key))      # classes shown by the names given for bare codes
with user_errors():
    preds = run_predictions(run.id, run.updated_at.isoformat())
test = preds["test"]
oof = preds.get("oof")          # out-of-fold predictions of the training rows (runs trained with CV)
pct = report.task == "classification"


def fmt(value: float) -> str:
    return f"{value:.1%}" if pct else f"{value:,.3f}"


def gap_words(delta: float | None) -> str | None:
    if delta is None or not pct:
        return None
    return f"{abs(delta) * 100:.1f} pts {'below' if delta < 0 else 'above'} training" if abs(delta) >= 0.0005 \
        else "same as training"


def all_numbers_table(report: MetricReport) -> pd.DataFrame:
    """Every metric as text: percentages for shares, plain numbers for losses and errors, '—' when not computed."""
    def text(key: str, value) -> str:
        if value is None or pd.isna(value):
            return "—"
        return f"{value:.2%}" if pct and key != "log_loss" else f"{value:,.4f}"
    keys = list(dict.fromkeys([*report.test, *report.train, *report.cv]))
    return pd.DataFrame([{"metric": charts.metric_name(k), "train": text(k, report.train.get(k)),
                          "test": text(k, report.test.get(k)),
                          "cv mean": text(k, report.cv.get(k, (None, None))[0]),
                          "cv std": text(k, report.cv.get(k, (None, None))[1])} for k in keys])


# ---------------------------------------------------------------- headline
st.subheader(f"{run.model_title} on {run.dataset_name}")
cards = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc") if pct else ("r2", "mae", "rmse")
for col, name in zip(st.columns(len(cards)), cards):
    if name in report.test:
        delta = report.test[name] - report.train[name] if name in report.train else None
        col.metric(charts.metric_name(name), fmt(report.test[name]), delta=gap_words(delta), delta_color="off",
                   delta_arrow="off", help=f"Test rows, measured once: {report.interval_text(name, pct)}")
st.markdown(f"**{named.headline()}**")
caption(report.test_label())
warning = report.overfitting_sentence()
if warning:
    st.warning(warning, icon=":material/psychology:")
caption(f"{report.n_test:,} test rows, {report.n_train:,} training rows. Preprocessing and model were fitted on the "
           "training rows only.")
with st.expander("Advice on this model", expanded=False, icon=":material/lightbulb:"):
    show_advice(run_advice(run.id, run.updated_at.isoformat()))
    st.download_button("Download the report (HTML, opens offline)", data=lambda: run_report(run.id, run.updated_at.isoformat()),
                       file_name=f"modeldeck-{run.id}.html", mime="text/html", key="metrics_report",
                       on_click="ignore", icon=":material/download:")

# ---------------------------------------------------------------- charts
def cross_validation_tab() -> None:
    if not report.cv:
        st.info("This run was trained without cross-validation.")
        return
    chart(charts.cv_figure(report))
    mean, std = report.cv.get(report.primary, (float("nan"), float("nan")))
    caption(f"Over the folds of the training rows, {charts.metric_name(report.primary)} was {fmt(mean)} ± {fmt(std)}"
               f"{': stable' if std < 0.02 else ': it varies noticeably with the rows it learns from'}.")


if pct:
    tabs = st.tabs(["Confusion matrix", "ROC", "Precision–recall", "Calibration", "Threshold", "Per class",
                    "Train vs test", "Cross-validation", "Business value", "All numbers"])
    with tabs[0]:
        normalize = st.toggle("Show as share of each true class", key="cm_norm")
        chart(charts.confusion_figure(named, normalize=normalize))
        caption("Rows are the true classes, columns what the model said; the diagonal is where it is right.")
    with tabs[1]:
        chart(charts.roc_figure(test, report.positive_label))
        if "roc_auc" in report.test:
            caption(f"ROC AUC {report.test['roc_auc']:.3f}: picking one positive and one negative row at random, "
                       f"the model ranks the positive higher {report.test['roc_auc']:.1%} of the time.")
    with tabs[2]:
        chart(charts.pr_figure(test, report.positive_label))
    with tabs[3]:
        chart(charts.calibration_figure(test, report.positive_label))
        caption("Close to the diagonal means a predicted 80% really happens about 80% of the time.")
    with tabs[4]:
        if report.positive_label is None or test.proba is None:
            st.info("The decision threshold applies to two-class problems with probabilities.")
        else:
            score, pos = positive_scores(test, report.positive_label)
            chosen = None
            if oof is not None and oof.proba is not None:
                chosen = best_f1_threshold(oof.y_true, positive_scores(oof, pos)[0], pos)
                caption(threshold_sentence(chosen, len(oof), at_threshold(test.y_true, score, pos, chosen),
                                           named.positive_label, "F1"))
            else:
                caption("This run has no out-of-fold predictions (trained without cross-validation), so no threshold "
                        "is recommended: choosing one on the test rows would flatter it.")
            threshold = st.slider(f"Flag a row as '{named.positive_label}' when its probability is at least", 0.0, 1.0,
                                  chosen if chosen is not None else 0.5, 0.01, key="metrics_threshold")
            point = at_threshold(test.y_true, score, pos, threshold)
            chart(charts.threshold_figure(threshold_sweep(test.y_true, score, pos), threshold))
            a, b, c = st.columns(3)
            a.metric("Precision", f"{point['precision']:.1%}")
            b.metric("Recall", f"{point['recall']:.1%}")
            c.metric("Flagged", f"{point['flagged_share']:.1%} of rows")
            caption(f"At {threshold:.2f}, the model flags {point['tp'] + point['fp']} of {len(score)} test rows "
                       f"as '{named.positive_label}': {point['tp']} really are, {point['fp']} are false alarms, and it misses "
                       f"{point['fn']}. Raise the threshold for fewer false alarms, lower it to miss fewer.")
    with tabs[5]:
        per_class = pd.DataFrame(named.per_class).rename(columns={"support": "rows in test split"})
        st.dataframe(per_class.style.format({"precision": "{:.1%}", "recall": "{:.1%}", "f1": "{:.1%}"}),
                     hide_index=True)
        caption("Precision: of the rows the model put in this class, the share that belong there. "
                   "Recall: of the rows that belong to this class, the share the model found.")
    with tabs[6]:
        chart(charts.train_test_figure(report))
        caption(warning or "Training and test scores are close: no sign of memorising.")
    with tabs[7]:
        cross_validation_tab()
    with tabs[8]:
        if report.positive_label is None or test.proba is None:
            st.info("The money view applies to two-class problems with probabilities.")
        else:
            with user_errors():
                money_view(run, test, report, oof)
else:
    tabs = st.tabs(["Predicted vs actual", "Residuals", "Train vs test", "Cross-validation", "All numbers"])
    with tabs[0]:
        chart(charts.predicted_vs_actual_figure(test))
    with tabs[1]:
        chart(charts.residual_figure(test))
        caption("Errors should scatter evenly around zero; a pattern means the model misses a trend.")
    with tabs[2]:
        chart(charts.train_test_figure(report))
    with tabs[3]:
        cross_validation_tab()
with tabs[-1]:
    st.dataframe(all_numbers_table(report), column_config={"metric": st.column_config.TextColumn(width="medium")},
                 hide_index=True)

# ---------------------------------------------------------------- where it fails (issue 16)
st.subheader("Where does the model fail?")
caption("Groups of test rows on which the model does clearly worse than on the whole: each category, each quarter of "
        "a numeric column, pairs of them, and what a small tree fitted on the errors finds.")
slices_view.section(run)
