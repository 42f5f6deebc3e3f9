"""Data sets as the pages see them: cached loading, profile, cleaning preview and data-level advice; uploads and
labels are saved through here (after the one permission check)."""
from __future__ import annotations

import json

import streamlit as st

from core.data import CleaningPreview, Dataset, PrepOptions, Profile, load_dataset, preview_cleaning, profile
from ui.runs import require_write


@st.cache_data(max_entries=16, show_spinner="Loading the data set…")
def dataset(key: str) -> Dataset:
    return load_dataset(key)


@st.cache_data(max_entries=16, show_spinner="Profiling…")
def dataset_profile(key: str) -> Profile:
    return profile(dataset(key))


@st.cache_data(max_entries=32, show_spinner="Cleaning the training split…")
def cleaning(key: str, prep_json: str) -> CleaningPreview:
    return preview_cleaning(dataset(key), PrepOptions.from_dict(json.loads(prep_json)))


@st.cache_data(max_entries=16, show_spinner="Checking the data…")
def dataset_advice(key: str) -> list:
    """Advisor output that needs only the data (imbalance, missing values, leakage suspects)."""
    from core.share import advise, evidence_for
    return advise(evidence_for(dataset(key)))


def store_upload(uploaded: Dataset) -> str:
    """Save an uploaded data set; returns its key."""
    from core.data import save_upload
    require_write()
    return save_upload(uploaded)


def store_labels(key: str, labels: dict, columns) -> None:
    """Save the human labels and units of a data set's columns."""
    from core.data import save_labels
    require_write()
    save_labels(key, labels, columns)
