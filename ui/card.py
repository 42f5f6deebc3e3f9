"""Streamlit helpers for the model card on the Runs page: what the model is for (saved after the one permission
check) and the card as one HTML page to download."""
from __future__ import annotations

import streamlit as st

from core.share import build_card, load_intended_use, save_intended_use
from ui import runs as runs_ui
from ui.common import caption, read_only, user_errors
from ui.runs import run_store


def section(run) -> None:
    """Intended use typed by the user, then the card as a download (built when clicked)."""
    if run.status != "done" or run.kind == "recommender":
        return
    with st.expander("Model card", icon=":material/badge:"):
        caption("One page to hand to whoever will use this model: what it is for, its data and what became of each "
                "column, its scores with intervals, what drives it, where it fails, drift, serving cost and limits.")
        typed = load_intended_use(run.id, run_store())
        locked = read_only()
        use = st.text_area("What this model is for", typed["intended_use"], key=f"card_use_{run.id}", disabled=locked,
                           placeholder="e.g. ranking customers for a retention call each month")
        not_for = st.text_area("What it must not be used for", typed["not_for"], key=f"card_not_{run.id}",
                               disabled=locked, placeholder="e.g. decisions about individual pricing")
        if st.button("Save", key=f"card_save_{run.id}", disabled=locked):
            with user_errors():
                save_use(run.id, use, not_for)
            st.success("Saved: the card and the report now say what this model is for.", icon=":material/check:")
        st.download_button("Download the model card (HTML)", lambda: build_card(run.id, run_store()),
                           file_name=f"model-card-{run.id}.html", mime="text/html", key=f"card_download_{run.id}",
                           on_click="ignore", icon=":material/download:")


def save_use(run_id: str, use: str, not_for: str) -> None:
    """Store what the model is for, after the one permission check (this run's owner, never a shared link)."""
    runs_ui.require_write(run_id)
    save_intended_use(run_id, use, not_for, run_store())
