"""The run store as the pages see it: cached reads of saved runs and the one door for every write.

Reads: the store itself (`st.cache_resource`, shared), a run's predictions, fitted model (shared, read-only) and
exact split. Writes: every change to the store goes through `require_write()`, the single permission check.
"""
from __future__ import annotations

import streamlit as st

from core.common import ModelDeckError
from core.data import PrepOptions
from core.runs import Run, RunStore


@st.cache_resource(max_entries=1)
def run_store() -> RunStore:
    store = RunStore()
    store.mark_orphans_failed()
    return store


@st.cache_data(max_entries=32, show_spinner=False)
def run_predictions(run_id: str, version: str) -> dict:
    return run_store().load_predictions(run_id)


@st.cache_resource(max_entries=16, show_spinner="Loading the saved model…")
def run_model(run_id: str, version: str):
    """The fitted pipeline of a finished run (shared, read-only: copy it before changing anything)."""
    return run_store().load_model(run_id)


@st.cache_data(max_entries=16, show_spinner=False)
def run_split(run_id: str, version: str):
    """The exact train/test split the run was trained on (same data, preprocessing options and seed)."""
    from core.data import split_dataset
    from ui.data import dataset
    run = run_store().get(run_id)
    return split_dataset(dataset(run.dataset_key), PrepOptions.from_dict(run.prep))


@st.cache_data(max_entries=256, show_spinner=False)
def run_dataset_key(run_id: str) -> str | None:
    try:
        return run_store().get(run_id).dataset_key
    except ModelDeckError:
        return None


def finished_runs(limit: int = 500, kind: str | None = None) -> list[Run]:
    return [r for r in run_store().list(limit=limit, kind=kind) if r.status == "done"]


def clear_all() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


# ---------------------------------------------------------------- writes
def require_write() -> None:
    """The one permission check every write passes: a session opened from a share link only looks."""
    from ui.common import read_only
    if read_only():
        raise ModelDeckError("This is a read-only shared view: it can show this run but not change anything. "
                             "Open ModelDeck without the share link to train, rename or delete.")


def guarded(write, *args, **kwargs):
    """Call `write(*args, **kwargs)` after the permission check (for writes that live in core)."""
    require_write()
    return write(*args, **kwargs)


def rename_run(run_id: str, name: str) -> None:
    require_write()
    run_store().rename(run_id, name)


def delete_run(run_id: str) -> None:
    require_write()
    run_store().delete(run_id)
