"""Home: the one-minute story on the current data set, a presentation mode, the slides to download, the latest runs.
Kept light: the story's modules load when the button is pressed, so the page paints fast."""
import streamlit as st

from ui.common import caption, current_dataset_about, select
from ui.runs import finished_runs
from ui.story import download_slides, run_demo, show_cards, show_presentation

story = st.session_state.get("story")
if story is not None and st.session_state.get("present"):
    show_presentation(story)
    st.stop()

st.title("ModelDeck")
st.markdown("#### From a raw table to a model you can trust, in your browser.")
caption("Pick data, clean it, train and compare models, see why they decide, make them smaller, and share what "
        "you found. One click below tells the whole story on the current data set, in about ten seconds.")

dataset_key, dataset_name, dataset_description = current_dataset_about()
left, middle, right = st.columns([3, 1.2, 1.4], vertical_alignment="center")
if left.button(f"Run the one-minute story on {dataset_name}", type="primary", key="home_story",
               icon=":material/play_arrow:"):
    story = run_demo(dataset_key)
if story is not None:
    if middle.button("Presentation mode", key="home_present", icon=":material/slideshow:"):
        st.session_state["present"] = True
        st.session_state["story_page"] = 0
        st.rerun()
    with right:
        download_slides(story, "home_download")
    show_cards(story)

st.divider()
c1, c2, c3 = st.columns(3)
with c1:
    st.markdown("**1 · Data**")
    caption(f"Now: {dataset_name}. {dataset_description}")
    st.page_link("pages/data.py", label="Explore and clean the data", icon=":material/table_chart:")
with c2:
    st.markdown("**2 · Train**")
    caption("Six kinds of model side by side, and live learning curves for the neural network.")
    st.page_link("pages/train.py", label="Train models", icon=":material/model_training:")
with c3:
    st.markdown("**3 · Understand and ship**")
    caption("Scores in plain words, the reasons behind each answer, a smaller model, a report to share.")
    st.page_link("pages/metrics.py", label="Read the report", icon=":material/insights:")

recent = finished_runs(limit=5)
if recent:
    st.markdown("**Latest runs**")
    for run in recent:
        left, right = st.columns([4, 1])
        primary = (run.metrics or {}).get("primary", "accuracy")
        value = (run.metrics or {}).get("test", {}).get(primary, float("nan"))
        left.caption(f"{run.name} · {primary.replace('_', ' ')} {value:.1%}" if run.task == "classification"
                     else f"{run.name} · {primary} {value:.3f}")
        if right.button("Open", key=f"home_open_{run.id}"):
            select("run", run.id)
            st.switch_page("pages/recommend.py" if run.kind == "recommender" else "pages/metrics.py")
