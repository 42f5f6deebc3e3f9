"""Home: what ModelDeck does, a one-click start, and the latest runs."""
import streamlit as st

from ui import cache
from ui.common import current_dataset, select

st.title("ModelDeck")
st.markdown("#### From a raw table to a model you can trust — in your browser.")
st.caption("Pick data, clean it, train and compare models, and read an honest report. Every run is saved.")

dataset = current_dataset()
c1, c2, c3 = st.columns(3)
with c1:
    st.markdown("**1 · Data**")
    st.caption(f"Now: {dataset.name}. {dataset.description}")
    st.page_link("pages/data.py", label="Explore and clean the data", icon=":material/table_chart:")
with c2:
    st.markdown("**2 · Train**")
    st.caption("Six model families, a leaderboard, live training curves for the neural network.")
    st.page_link("pages/train.py", label="Train models", icon=":material/model_training:")
with c3:
    st.markdown("**3 · Metrics**")
    st.caption("Accuracy, precision, recall, ROC, calibration, cross-validation — in plain words.")
    st.page_link("pages/metrics.py", label="Read the report", icon=":material/insights:")

st.divider()
if st.button(f"Quick start: train gradient boosting on {dataset.name}", type="primary", key="home_quick"):
    from core.models import ModelSpec
    from ui.common import current_prep
    from ui.training import train_and_save
    trained, run = train_and_save(dataset, ModelSpec.create("hist_gb"), current_prep(), cv_folds=5)
    st.success(trained.report.headline())
    st.page_link("pages/metrics.py", label="Open its full report →", icon=":material/insights:")

recent = [r for r in cache.run_store().list(limit=5) if r.status == "done"]
if recent:
    st.markdown("**Latest runs**")
    for run in recent:
        left, right = st.columns([4, 1])
        primary = run.metrics.get("primary", "accuracy")
        value = run.metrics["test"].get(primary, float("nan"))
        left.caption(f"{run.name} · {primary.replace('_', ' ')} {value:.1%}" if run.task == "classification"
                     else f"{run.name} · {primary} {value:.3f}")
        if right.button("Open", key=f"home_open_{run.id}"):
            select("run", run.id)
            st.switch_page("pages/recommend.py" if run.kind == "recommender" else "pages/metrics.py")
