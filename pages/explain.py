"""Explain: why the model decides what it decides (SHAP, LIME, what-if, counterfactuals) for the selected run."""
import streamlit as st

from ui import explain as view_ui
from ui import image_explain
from ui.common import caption

st.title("Why does the model decide that?")
caption("See which columns drive the model overall and why it made one prediction: how far each column pushed "
        "the answer up or down, checked three other ways (the tabs below name each method).")

run = view_ui.finished_run()
image_explain.picture_view_instead(run, image_explain.explain_view)
pipeline = view_ui.model_of(run)
method, rows = view_ui.choose(run, pipeline)
explanation = view_ui.explanation(run, run.updated_at.isoformat(), method, rows)
view = view_ui.build_view(run, pipeline, method, rows, explanation)

overall, one_row, checks = st.tabs(["Overall", "One row", "Cross-checks"])
with overall:
    view_ui.global_view(view)
with one_row:
    view_ui.local_view(view)
with checks:
    view_ui.cross_checks(view)
