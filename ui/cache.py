"""Every Streamlit cache of the app lives here; pages call these functions, never the decorators.

Data (copied per caller): st.cache_data. Fitted models and stores (shared, read-only): st.cache_resource,
keyed by small strings: data set key + fingerprint, spec JSON, preprocessing JSON.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

import streamlit as st

from core.datasets import Dataset, load_dataset
from core.prep import CleaningPreview, PrepOptions, Profile, preview_cleaning, profile
from core.runs import RunStore


@st.cache_data(max_entries=16, show_spinner="Loading the data set…")
def dataset(key: str) -> Dataset:
    return load_dataset(key)


@st.cache_data(max_entries=16, show_spinner="Profiling…")
def dataset_profile(key: str) -> Profile:
    return profile(dataset(key))


@st.cache_data(max_entries=32, show_spinner="Cleaning the training split…")
def cleaning(key: str, prep_json: str) -> CleaningPreview:
    return preview_cleaning(dataset(key), PrepOptions.from_dict(json.loads(prep_json)))


@st.cache_resource(max_entries=1)
def run_store() -> RunStore:
    store = RunStore()
    store.mark_orphans_failed()
    return store


class _ModelShelf:
    """A bounded, thread-safe LRU of trained models shared by all sessions (held by st.cache_resource).

    A plain @st.cache_resource on the training function cannot be used: training draws live progress into
    the page, and Streamlit would try to replay those elements on every cache hit.
    """

    def __init__(self, max_entries: int = 32):
        self.max_entries, self.items, self.lock = max_entries, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.max_entries:
                self.items.popitem(last=False)


@st.cache_resource(max_entries=1)
def _model_shelf() -> _ModelShelf:
    return _ModelShelf()


def trained_model(key: str, fingerprint: str, spec_json: str, prep_json: str, cv_folds: int, progress=None):
    """Train (or reuse) a model keyed by data fingerprint + spec + preprocessing; shared and read-only."""
    from core.models import ModelSpec
    from core.train import train_model
    cache_key = (key, fingerprint, spec_json, prep_json, cv_folds)
    shelf = _model_shelf()
    model = shelf.get(cache_key)
    if model is None:
        model = train_model(dataset(key), ModelSpec.from_json(spec_json), PrepOptions.from_dict(json.loads(prep_json)),
                            cv_folds=cv_folds, progress=progress)
        shelf.put(cache_key, model)
    return model


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
    from core.prep import split_dataset
    run = run_store().get(run_id)
    return split_dataset(dataset(run.dataset_key), PrepOptions.from_dict(run.prep))


@st.cache_data(max_entries=32, show_spinner="Reading the measurements…")
def run_advice(run_id: str, version: str) -> list:
    """Advisor output for a finished run (cheap evidence only: data profile, metrics, training curves)."""
    from core.advisor import advise, evidence_for
    from core.metrics import MetricReport
    run = run_store().get(run_id)
    return advise(evidence_for(dataset(run.dataset_key), MetricReport.from_dict(run.metrics), run.history))


@st.cache_data(max_entries=8, show_spinner="Building the report…")
def run_report(run_id: str, version: str) -> str:
    from core.report import build_report
    return build_report(run_id, run_store())


def clear_all() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


# ---------------------------------------------------------------- tune
@st.cache_data(max_entries=32, show_spinner=False)
def tune_charts(name: str, version: str) -> dict:
    """Setting importances and Optuna's landscape / parallel-coordinate figures of a search, recomputed only when
    a trial finishes (version = TuneStatus.version)."""
    from core import charts_tune, tune
    status = tune.study_status(name)
    shares = tune.importances(status)
    return {"importances": shares, "importance": charts_tune.importance_figure(shares),
            "landscape": charts_tune.landscape_figure(status, shares), "parallel": charts_tune.parallel_figure(status)}


# ---------------------------------------------------------------- compress
@st.cache_data(max_entries=16, show_spinner=False)
def compress_result(run_id: str, stamp: float):
    """The saved trade-off table of a run (None before the first compression); `stamp` = result file mtime."""
    from core.compress import load_result
    return load_result(run_id, run_store())


def compress_stamp(run_id: str) -> float:
    from core.compress import RESULT_FILE, compress_folder
    path = compress_folder(run_id, run_store()) / RESULT_FILE
    return path.stat().st_mtime if path.exists() else 0.0
