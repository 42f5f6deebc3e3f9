"""Streamlit helpers for comparing runs on the Runs page: the picker, the cached comparison and its view."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.share import RunComparison, compare_runs
from ui.common import caption, chart, say, user_errors
from ui.runs import finished_runs, run_split, run_store

_SHARE_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro",
                  "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted", "roc_auc", "average_precision",
                  "r2")


@st.cache_data(max_entries=16, show_spinner="Comparing the runs…")
def comparison(keys: tuple[tuple[str, str], ...]) -> RunComparison:
    """The comparison of runs given as ((id, version), …); the version keys the cache to what is stored."""
    store = run_store()
    runs = [store.get(run_id) for run_id, _version in keys]
    return compare_runs(runs, store, split_of=lambda run: run_split(run.id, run.updated_at.isoformat()))


def _fmt(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return f"{value:.1%}" if metric in _SHARE_METRICS else f"{value:,.4g}"


def _diff(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return f"{value * 100:+.1f} pts" if metric in _SHARE_METRICS else f"{value:+,.4g}"


def metrics_table(result: RunComparison) -> pd.DataFrame:
    """Metrics as people read them: shares in percent, differences in points, intervals beside them."""
    rows = []
    for _, r in result.metrics.iterrows():
        row = {"metric": r["metric"].replace("_", " "), "on": r["on"]}
        for label in result.labels:
            row[label] = _fmt(r["metric"], r[label])
        for label in result.labels[1:]:
            row[f"{label} − A"] = _diff(r["metric"], r[f"{label} − A"])
            interval = r[f"{label} − A, 95%"]
            row[f"{label} − A, 95% interval"] = "—" if not isinstance(interval, tuple) else \
                f"{_diff(r['metric'], interval[0])} to {_diff(r['metric'], interval[1])}"
        rows.append(row)
    return pd.DataFrame(rows)


def section() -> None:
    """Pick two or more runs; what differs, the metrics side by side, the curves, the drivers, one sentence."""
    from core.share import charts
    st.subheader("Compare runs")
    caption("Pick two or more runs of the same data set. The first one picked is A; the others are compared with it.")
    runs = [r for r in finished_runs() if r.kind != "recommender"]
    by_id = {r.id: r for r in runs}
    chosen = st.multiselect("Runs to compare", list(by_id), format_func=lambda i: f"{by_id[i].name} · {i}",
                            key="compare_pick", placeholder="Pick runs…")
    if len(chosen) < 2:
        st.info("Pick at least two finished runs to see them side by side.", icon=":material/compare_arrows:")
        return
    with user_errors():
        result = comparison(tuple((i, by_id[i].updated_at.isoformat()) for i in chosen))
    st.markdown(f"**{say(result.sentence)}**")
    names = pd.DataFrame({"run": result.labels, "name": [r.name for r in result.runs], "id": [r.id for r in result.runs]})
    st.dataframe(names, hide_index=True, key="compare_names")
    st.markdown("**What differs**")
    if result.differing.empty:
        caption("Every setting is the same: any difference in the scores comes from chance (seeds, timing).")
    else:
        st.dataframe(result.differing, hide_index=True, key="compare_differing")
    with st.expander(f"Identical in every run ({len(result.same)} settings)"):
        st.dataframe(result.same, hide_index=True, key="compare_same")
    st.markdown("**Scores**")
    st.dataframe(metrics_table(result), hide_index=True, key="compare_metrics")
    caption("Differences are against run A. The 95% interval comes from resampling the shared test rows (paired "
            "bootstrap, 1,000 resamples); when it includes zero, the difference could be chance.")
    left, right = st.columns(2)
    with left:
        chart(charts.compare_metrics_figure(result), key="compare_metrics_chart")
    with right:
        chart(charts.compare_curves_figure(result), key="compare_curves_chart")
    st.markdown("**What drives each run**")
    if result.drivers is not None:
        st.dataframe(result.drivers, hide_index=True, key="compare_drivers")
        caption(f"Rank 1 is the column that moves the model most (mean |SHAP|). 'moved': how many places a column "
                f"climbed from A to {result.labels[-1]}.")
    for note in result.notes:
        caption(note)
