"""Tune: grid, random and Bayesian search on Optuna, run by background workers that share the database."""
import streamlit as st

from core import tune
from ui.common import caption, current_dataset, current_prep
from ui.tune import best_panel, choose_study, live_panel, search_form

st.title("Tune")
dataset = current_dataset()
prep = current_prep()
from ui.images import is_image  # noqa: E402  (issue 13)
if is_image(dataset):
    st.info("These are pictures: the search tunes the convolutional network (CNN) by default; the table models "
            "treat each pixel as a column.", icon=":material/image:")
caption(f"Find the settings that score best on **{dataset.name}** within a trial budget, and see how the search "
           f"got there. Each setting is scored on training rows held back in turn; the test rows stay unseen. "
           f"Cleaning: {prep.describe()}.")

with st.expander("New search", expanded=not tune.list_studies(dataset.key), icon=":material/tune:"):
    search_form(dataset, prep)

name = choose_study(dataset)
if name:
    status = live_panel(name)
    if status is not None:
        best_panel(status, dataset)
