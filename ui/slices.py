"""Streamlit helpers for 'Where does the model fail?' on the Metrics page: the cached slice report of a run's test
rows and its view (sentence, chart, table, the error tree's regions)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.common import ModelDeckError
from core.evaluate import SliceReport, find_slices
from ui.common import caption, chart, say
from ui.runs import run_predictions, run_split


@st.cache_data(max_entries=16, show_spinner="Looking for slices where the model fails…")
def slice_report(run_id: str, version: str, dataset_key: str) -> SliceReport:
    """Slices of the run's test rows (the split it was trained on, with its stored test predictions)."""
    from core.explain import entity_words
    X = run_split(run_id, version).X_test
    test = run_predictions(run_id, version)["test"]
    if len(X) != len(test.y_true):
        raise ModelDeckError("The test rows of this run no longer match its stored predictions (the data set or the "
                             "cleaning rules changed since it was trained); train it again to see where it fails.")
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric and not pd.api.types.is_datetime64_any_dtype(X[c])]
    task = "classification" if test.labels is not None else "regression"
    return find_slices(X, test.y_true, test.y_pred, task, numeric, categorical, words=entity_words(dataset_key))


def section(run) -> None:
    """The whole 'where it fails' section of a run; too few test rows is a note, not an error."""
    try:
        report = slice_report(run.id, run.updated_at.isoformat(), run.dataset_key)
    except ModelDeckError as exc:
        st.info(say(str(exc)), icon=":material/info:")
        return
    show(report)


def show(report: SliceReport) -> None:
    """The headline, the chart, the table and the error tree's worst regions."""
    from core.evaluate import charts
    st.markdown(f"**{say(report.headline())}**")
    chart(charts.slices_figure(report), key="metrics_slices_chart")
    if report.tree:
        st.markdown("A shallow decision tree fitted on the model's errors names these regions:")
        for region in report.tree:
            st.markdown(f"- {say(report.sentence(region))}")
    pct = report.task == "classification"
    table = report.table()
    st.dataframe(table, hide_index=True, key="metrics_slices_table", column_config={
        "error": st.column_config.NumberColumn("misclassified" if pct else "mean abs. error",
                                               format="percent" if pct else "%.3g"),
        "low": st.column_config.NumberColumn("95% low", format="percent" if pct else "%.3g"),
        "high": st.column_config.NumberColumn("95% high", format="percent" if pct else "%.3g"),
        "× overall": st.column_config.NumberColumn(format="%.2f×")})
    for note in report.notes:
        caption(note)
