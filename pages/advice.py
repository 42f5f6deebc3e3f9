"""Advice: every measurement of the selected run turned into recommendations, each with its evidence."""
import streamlit as st

from ui.advice import run_advice, run_report, show_advice
from ui.common import caption, current_run

st.title("Advice")
caption("What the measurements of this model say, most important first, with the numbers behind each point.")

run = current_run()
if run is None or run.status != "done":
    st.info("Pick a finished run first: train a model, or open one on the Runs page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

st.subheader(f"{run.name}")
show_advice(run_advice(run.id, run.updated_at.isoformat()))
st.download_button("Download the full report (HTML, opens offline)",
                   data=lambda: run_report(run.id, run.updated_at.isoformat()),
                   file_name=f"modeldeck-{run.id}.html", mime="text/html", key="advice_report", on_click="ignore",
                   icon=":material/download:")
