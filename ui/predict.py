"""Streamlit helpers for the Predict page: the run picker, cached checks, predictions and drift, and their views.

The run's pipeline and split come from ui.runs (shared, read-only); the SHAP explainer for reasons is one shared
object per run (`st.cache_resource`); a file's check, predictions and drift are cached by the file's digest, so a
rerun (a click on a widget) never recomputes them. Nothing here writes to the run store.
"""
from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core import predict as pr
from ui.common import caption, current_run, say, select
from ui.runs import finished_runs, run_model, run_split, run_store


# ---------------------------------------------------------------- which run
def pick_run():
    """The selected finished run (classification or regression), or a message with a link to Train and stop."""
    runs = [r for r in finished_runs() if r.kind != "recommender"]
    if not runs:
        st.info("No finished runs yet. Train a model first, then come back with new rows to predict.",
                icon=":material/info:")
        st.page_link("pages/train.py", label="Go to Train →", icon=":material/model_training:")
        st.stop()
    ids = [r.id for r in runs]
    run = current_run()
    if run is None or run.id not in ids:
        run = runs[0]
    select("run", run.id)
    st.session_state["predict_run"] = run.id
    labels = {r.id: f"{r.name} · {r.created_at:%Y-%m-%d %H:%M} · {r.id}" for r in runs}
    st.selectbox("Run", ids, format_func=labels.get, key="predict_run",
                 on_change=lambda: select("run", st.session_state["predict_run"]))
    return run


# ---------------------------------------------------------------- cached work
@st.cache_resource(max_entries=16, show_spinner="Loading the run's model…")
def run_model_of(run_id: str, version: str) -> pr.RunModel:
    """The run's pipeline, training rows and contract (shared, read-only)."""
    return pr.run_model_from(run_store().get(run_id), run_model(run_id, version), run_split(run_id, version))


@st.cache_resource(max_entries=8, show_spinner="Preparing the explainer for the reasons…")
def _reason_engine(run_id: str, version: str):
    model = run_model_of(run_id, version)
    return pr.reason_engine(model.pipeline, model.X_train, model.contract.task, model.contract.target)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@st.cache_data(max_entries=16, show_spinner="Reading and checking the file…")
def checked(run_id: str, version: str, file_digest: str, _data: bytes, filename: str) -> tuple[list[str], pr.SchemaCheck]:
    """(notes from reading the CSV, the schema check) for an uploaded file."""
    from core.data import read_csv
    read = read_csv(_data, filename)
    return read.notes, pr.check_schema(read.frame, run_model_of(run_id, version).contract)


@st.cache_data(max_entries=16, show_spinner="Predicting and explaining each row…")
def predictions(run_id: str, version: str, file_digest: str, _data: bytes, filename: str,
                reasons: bool) -> pr.BatchResult:
    model = run_model_of(run_id, version)
    check = checked(run_id, version, file_digest, _data, filename)[1]
    engine = _reason_engine(run_id, version) if reasons else None
    return pr.predict_batch(model.pipeline, check, model.contract, engine=engine, X_train=model.X_train,
                            plural=model.words[1])


@st.cache_data(max_entries=16, show_spinner="Comparing with the training rows…")
def drift(run_id: str, version: str, file_digest: str, _data: bytes, filename: str) -> pr.DriftReport:
    check = checked(run_id, version, file_digest, _data, filename)[1]
    return pr.drift_of(run_model_of(run_id, version), check)


# ---------------------------------------------------------------- views
def expected_columns(model: pr.RunModel) -> None:
    """What the file must hold, and an example file made of a few training rows (without the target)."""
    contract = model.contract
    def seen(c: str) -> str:
        if c in contract.numeric:
            return f"{contract.ranges[c][0]:,.4g} to {contract.ranges[c][1]:,.4g}"
        known = contract.categories.get(c, [])
        return ", ".join(known[:6]) + (" …" if len(known) > 6 else "")
    kinds = {**{c: "number" for c in contract.numeric}, **{c: "date" for c in contract.dates}}
    rows = [{"column": c, "kind": kinds.get(c, "category"), "in training": seen(c)} for c in contract.features]
    with st.expander(f"The {len(contract.features)} columns the model needs", icon=":material/view_column:"):
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        caption(f"Leave out '{contract.target}': that is what the model predicts. Other columns are kept in the "
                "download and ignored by the model.")
        example = model.X_train.head(5)
        st.download_button("Download an example file (5 training rows)", pr.to_safe_csv(example),
                           file_name="example-rows.csv", mime="text/csv", key="predict_example", on_click="ignore",
                           icon=":material/download:")


def show_problems(notes: list[str], check: pr.SchemaCheck) -> None:
    """Each problem with what is done about it: errors and warnings as boxes, the rest as a short list.

    Column names stay as the file must spell them (no human labels here): the user has to find them in the file."""
    st.markdown(f"**{check.summary()}**")
    for message in check.blocking_messages():
        st.error(message, icon=":material/error:")
    for problem in check.problems:
        if problem.level == "warning":
            st.warning(problem.message, icon=":material/warning:")
    handled = [p.message for p in check.problems if p.level == "info"] + notes
    if handled:
        with st.expander(f"Handled automatically ({len(handled)})", icon=":material/check_circle:",
                         expanded=not check.ok):
            for item in handled:
                st.markdown(f"- {item}")


def predictions_table(result: pr.BatchResult) -> None:
    """Predictions, probabilities and reasons first, then the uploaded columns."""
    others = [c for c in result.table.columns if c not in result.prediction_columns]
    config = {c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="percent")
              for c in result.prediction_columns if c.startswith("probability of")}
    for c in result.prediction_columns:
        if c.startswith("reason"):
            config[c] = st.column_config.TextColumn(c, width="large")
    st.dataframe(result.table[result.prediction_columns + others], hide_index=True, column_config=config,
                 key="predict_table")


def download(result: pr.BatchResult, run) -> None:
    st.download_button("Download the predictions (CSV)", lambda: pr.to_safe_csv(result.table),
                       file_name=f"predictions-{run.id}.csv", mime="text/csv", key="predict_download",
                       on_click="ignore", icon=":material/download:", type="primary")
    caption("Cells that a spreadsheet would run as a formula (starting with =, +, - or @) get a leading apostrophe, "
            "so opening the file never runs anything.")


def record_drift(run, report: pr.DriftReport, filename: str) -> None:
    """Keep this check with the run (the model card and the report quote the latest one): a write, so guarded."""
    from ui.common import read_only, user_errors
    if st.button("Record this check on the model card", key="predict_record_drift", disabled=read_only(),
                 icon=":material/bookmark_add:"):
        with user_errors():
            save_drift(run.id, report, filename)
        st.success("Recorded: the model card now shows this drift check.", icon=":material/check:")


def save_drift(run_id: str, report: pr.DriftReport, filename: str) -> None:
    """Keep a drift check with the run, after the one permission check (this run's owner, never a shared link)."""
    from ui.runs import require_write
    require_write(run_id)
    pr.save_drift_check(run_store().folder(run_id), report, filename)


def drift_view(report: pr.DriftReport) -> None:
    from core.predict import charts
    from ui.common import chart
    (st.warning if report.flagged else st.success)(say(report.headline()),
                                                   icon=":material/trending_up:" if report.flagged else
                                                   ":material/check_circle:")
    for line in report.advice():
        st.markdown(f"- {say(line)}")
    chart(charts.drift_figure(report), key="predict_drift_chart")
    caption(f"A column counts as moved only when two things agree: its shift is larger than chance would give with "
            f"these sample sizes (a Kolmogorov–Smirnov or chi-square test, corrected for checking "
            f"{len(report.columns)} columns at once) and it is large enough to matter (PSI at least "
            f"{report.min_psi}, after removing the part that sample size alone gives). Orange bars differ measurably "
            "but too little to act on.")
    for note in report.notes:
        caption(note)
    with st.expander("Every column, in numbers"):
        table = report.table()[["column", "moved", "size", "psi", "psi_raw", "test", "statistic", "p_value",
                                "p_adjusted", "n_reference", "n_new", "change"]]
        st.dataframe(table, hide_index=True, column_config={
            "psi": st.column_config.NumberColumn("PSI", format="%.3f", help="minus what sample size alone gives"),
            "psi_raw": st.column_config.NumberColumn("PSI before correction", format="%.3f"),
            "statistic": st.column_config.NumberColumn(format="%.3g"),
            "p_value": st.column_config.NumberColumn("p", format="%.2g"),
            "p_adjusted": st.column_config.NumberColumn("p (Holm)", format="%.2g"),
            "n_reference": st.column_config.NumberColumn("training rows", format="%d"),
            "n_new": st.column_config.NumberColumn("new rows", format="%d")})

