"""Data sets as the pages see them: cached loading, profile, cleaning preview and data-level advice; uploads and
labels are saved through here (after the one permission check)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st

from core.data import PrepOptions
from ui.runs import require_write

if TYPE_CHECKING:  # pandas and scikit-learn behind these load on first use (core.data._LAZY)
    from core.data import CleaningPreview, Dataset, Profile


@st.cache_data(max_entries=16, show_spinner="Loading the data set…")
def dataset(key: str) -> Dataset:
    from core.data import load_dataset
    return load_dataset(key)


@st.cache_data(max_entries=16, show_spinner="Profiling…")
def dataset_profile(key: str) -> Profile:
    from core.data import profile
    return profile(dataset(key))


@st.cache_data(max_entries=32, show_spinner="Cleaning the training split…")
def cleaning(key: str, prep_json: str) -> CleaningPreview:
    from core.data import preview_cleaning
    return preview_cleaning(dataset(key), PrepOptions.from_dict(json.loads(prep_json)))


@st.cache_data(max_entries=32, show_spinner=False)
def column_fates(key: str, prep_json: str) -> list:
    """Every column's fate under these cleaning options (core.data.column_plan)."""
    from core.data import column_plan
    return column_plan(dataset(key), PrepOptions.from_dict(json.loads(prep_json)))


def column_choices(key: str) -> dict:
    """The user's column overrides for data set `key` (kept per data set in this session)."""
    return dict(st.session_state.setdefault("_column_uses", {}).get(key, {}))


def set_column_choices(key: str, uses: dict) -> None:
    """Remember the overrides for `key` and make them the ones the cleaning options carry (prep_column_uses)."""
    st.session_state.setdefault("_column_uses", {})[key] = dict(uses)
    st.session_state["prep_column_uses"] = dict(uses)


@st.cache_data(max_entries=8, show_spinner="Training the plain and the oversampled model on cross-validation folds…")
def balancing(key: str, prep_json: str):
    """Plain vs oversampled logistic regression on cross-validation of the training rows (core.train)."""
    from core.models import ModelSpec
    from core.train import compare_balancing
    prep = PrepOptions.from_dict(json.loads(prep_json))
    return compare_balancing(dataset(key), ModelSpec.create("linear", seed=prep.seed), prep)


@st.cache_data(max_entries=16, show_spinner="Checking the data…")
def dataset_advice(key: str, class_names: tuple = ()) -> list:
    """Advisor output that needs only the data (imbalance, missing values, leakage suspects, classes that are bare
    codes without the names this user gave: `class_names` as (code, name) pairs)."""
    from core.share import advise, evidence_for
    return advise(evidence_for(dataset(key), class_names=dict(class_names)))


def store_upload(uploaded: Dataset) -> str:
    """Save an uploaded data set; returns its key."""
    from core.data import save_upload
    return save_upload(uploaded, owner=require_write().owner)   # listed for this user (browser) only


def store_labels(key: str, labels: dict, columns) -> None:
    """Save this user's human labels and units of a data set's columns (theirs only: others keep their own)."""
    from core.data import save_labels
    save_labels(key, labels, columns, owner=require_write(dataset_key=key).owner)


def store_class_names(key: str, names: dict, classes=None) -> None:
    """Save this user's names for a data set's classes (bare codes such as 0/1), after the permission check."""
    from core.data import save_class_names
    owner = require_write(dataset_key=key).owner
    save_class_names(key, names, names if classes is None else classes, owner=owner)
