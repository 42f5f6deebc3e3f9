"""Every Streamlit cache of the app lives here; pages call these functions, never the decorators.

Data (copied per caller): st.cache_data. Fitted models and stores (shared, read-only): st.cache_resource,
keyed by small strings: data set key + fingerprint, spec JSON, preprocessing JSON.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

import streamlit as st

from core.data import Dataset, load_dataset
from core.data import CleaningPreview, PrepOptions, Profile, preview_cleaning, profile
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
    from core.data import split_dataset
    run = run_store().get(run_id)
    return split_dataset(dataset(run.dataset_key), PrepOptions.from_dict(run.prep))


@st.cache_data(max_entries=16, show_spinner="Checking the data…")
def dataset_advice(key: str) -> list:
    """Advisor output that needs only the data (imbalance, missing values, leakage suspects)."""
    from core.share import advise, evidence_for
    return advise(evidence_for(dataset(key)))


@st.cache_data(max_entries=32, show_spinner="Reading the measurements…")
def run_advice(run_id: str, version: str) -> list:
    """Advisor output for a finished run (cheap evidence only: data profile, metrics, training curves)."""
    from core.share import advise, run_evidence
    store = run_store()
    return advise(run_evidence(store.get(run_id), store))


@st.cache_data(max_entries=8, show_spinner="Building the report…")
def run_report(run_id: str, version: str) -> str:
    from core.share import build_report
    return build_report(run_id, run_store())


@st.cache_data(max_entries=256, show_spinner=False)
def run_dataset_key(run_id: str) -> str | None:
    from core.common import ModelDeckError
    try:
        return run_store().get(run_id).dataset_key
    except ModelDeckError:
        return None


def clear_all() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


# ---------------------------------------------------------------- tune
@st.cache_data(max_entries=32, show_spinner=False)
def tune_charts(name: str, version: str) -> dict:
    """Setting importances and Optuna's landscape / parallel-coordinate figures of a search, recomputed only when
    a trial finishes (version = TuneStatus.version)."""
    from core.tune import charts as charts_tune
    from core import tune
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


# ---------------------------------------------------------------- recommend
@st.cache_data(max_entries=8, show_spinner="Loading the interactions…")
def recsys_data(key: str):
    from core.recsys import load_interactions
    return load_interactions(key)


@st.cache_data(max_entries=8, show_spinner="Reading the uploaded files…")
def recsys_upload(ratings: bytes, ratings_name: str, items: bytes | None, items_name: str | None) -> str:
    """Parse and store an uploaded interactions file (+ optional item features); returns its data key."""
    from core.recsys import interactions_from_upload, save_upload
    return save_upload(interactions_from_upload(ratings, ratings_name, items, items_name))


@st.cache_resource(max_entries=1)
def _recsys_shelf() -> _ModelShelf:
    return _ModelShelf(max_entries=4)


def recsys_system(key: str, split_json: str, progress=None, build: bool = True):
    """Fitted and evaluated recommenders for a data set + split (shared, read-only); None when not built and
    build=False. A shelf, not a cache decorator: building draws live progress into the page."""
    from core.recsys import SplitSpec, build_system
    cache_key = (key, split_json)
    shelf = _recsys_shelf()
    system = shelf.get(cache_key)
    if system is None and build:
        system = build_system(recsys_data(key), SplitSpec.from_dict(json.loads(split_json)),
                              progress or (lambda fraction, message: None))
        shelf.put(cache_key, system)
    return system


@st.cache_data(max_entries=64, show_spinner="Ranking for this user…")
def recsys_user(key: str, split_json: str, user: int | None, k: int, liked: tuple[int, ...] = (),
                categories: tuple[str, ...] = ()) -> dict | None:
    """Each model's top-k with reasons for a known user (code) or a new visitor (liked items / categories)."""
    from core.recsys import recommend_user
    system = recsys_system(key, split_json, build=False)
    if system is None:
        return None
    keys = None if user is not None else [k_ for k_ in ("hybrid", "als", "content", "popular") if k_ in system.models]
    return recommend_user(system, user, k, list(liked), set(categories) or None, keys)


@st.cache_data(max_entries=16, show_spinner=False)
def saved_recommendations(run_id: str, version: str) -> dict:
    from core.recsys import load_saved
    return load_saved(run_store(), run_id)


# ---------------------------------------------------------------- explain
@st.cache_resource(max_entries=8, show_spinner="Preparing the explainer…")
def explain_engine(run_id: str, version: str, method: str):
    """The SHAP engine of a run's model (shared: it only reads the model and hooks a private copy of a network)."""
    from core.explain import ShapEngine
    run = run_store().get(run_id)
    return ShapEngine(run_model(run_id, version), run_split(run_id, version).X_train, run.task,
                      dataset(run.dataset_key).target, method, seed=0)


@st.cache_resource(max_entries=1)
def _explain_shelf() -> _ModelShelf:
    return _ModelShelf(max_entries=24)


def _shelved(key: tuple, load, compute, progress, allowed: bool):
    """Memory (shared shelf) -> the run folder -> compute and save (only when allowed); None otherwise.
    A shelf, not a cache decorator: computing draws live progress into the page."""
    shelf = _explain_shelf()
    value = shelf.get(key)
    if value is None:
        value = load()
        if value is None and allowed:
            value = compute(progress)
        if value is not None:
            shelf.put(key, value)
    return value


def explanation(run_id: str, version: str, method: str, max_rows: int, seed: int = 0, progress=None,
                compute: bool = True):
    """SHAP values of a run's seeded sample, computed once and stored with the run (None if not stored and
    compute=False)."""
    from core import explain as ex
    stem = ex.explanation_stem(run_store().folder(run_id), method, max_rows, seed)

    def work(progress):
        value = ex.explain_split(explain_engine(run_id, version, method), run_split(run_id, version), max_rows,
                                 seed, progress)
        ex.save_explanation(value, stem)
        return value
    return _shelved(("shap", run_id, version, method, max_rows, seed),
                    lambda: ex.load_explanation(stem, run_split(run_id, version)), work, progress, compute)


@st.cache_data(max_entries=16, show_spinner=False)
def explain_rows_available(run_id: str, version: str) -> int:
    split = run_split(run_id, version)
    return len(split.X_train) + len(split.X_test)


@st.cache_resource(max_entries=16, show_spinner="Timing the explainer on a few rows…")
def explain_seconds_per_row(run_id: str, version: str, method: str) -> float:
    return explain_engine(run_id, version, method).seconds_per_row(run_split(run_id, version).X_test)


def _run_row(run_id: str, version: str, position: int):
    from core.explain import all_rows
    X, _, _ = all_rows(run_split(run_id, version))
    return X.iloc[[position]]


@st.cache_resource(max_entries=64, show_spinner="Explaining your edited row…")
def what_if(run_id: str, version: str, method: str, position: int, edits: tuple):
    """SHAP explanation of a row after the user's edits ((column, value) pairs, validated)."""
    from core.explain import explain_frame
    from core.explain import edit_row
    engine = explain_engine(run_id, version, method)
    edited = edit_row(_run_row(run_id, version, position)[engine.features.columns], dict(edits),
                      engine.features.categorical, run_split(run_id, version).X_train)
    return explain_frame(engine, edited)


@st.cache_resource(max_entries=32, show_spinner="LIME: perturbing the row 5,000 times…")
def lime_row(run_id: str, version: str, position: int, output_name: str, num_samples: int = 5000, seed: int = 0):
    from core.explain import feature_map
    from core.explain import explain_row_lime
    run, pipeline = run_store().get(run_id), run_model(run_id, version)
    features = feature_map(pipeline.named_steps["prep"])
    row = _run_row(run_id, version, position)[features.columns]
    return explain_row_lime(pipeline, run_split(run_id, version).X_train, row, features.categorical, run.task,
                            output_name, num_samples, seed)


@st.cache_resource(max_entries=32, show_spinner="Searching for the smallest change…")
def counterfactual(run_id: str, version: str, position: int, allowed: tuple, seed: int = 0):
    from core.explain import feature_map
    from core.explain import counterfactual as search
    pipeline = run_model(run_id, version)
    features = feature_map(pipeline.named_steps["prep"])
    return search(pipeline, _run_row(run_id, version, position)[features.columns], list(allowed),
                  run_split(run_id, version).X_train, features.categorical, seed=seed)


def permutation(run_id: str, version: str, seed: int = 0, progress=None, compute: bool = True):
    """Permutation importance on the run's test rows, computed on request and stored with the run."""
    from core import explain as ex
    path = run_store().folder(run_id) / "explain" / f"permutation_{seed}.json"

    def load():
        data = ex.load_json(path)
        return ex.PermutationResult.from_dict(data) if data else None

    def work(progress):
        run, split = run_store().get(run_id), run_split(run_id, version)
        value = ex.permutation_importance_test(run_model(run_id, version), split.X_test, split.y_test, run.task,
                                               seed=seed, progress=progress)
        ex.save_json(path, value.to_dict())
        return value
    return _shelved(("perm", run_id, version, seed), load, work, progress, compute)


def interactions(run_id: str, version: str, rows: int = 50, seed: int = 0, progress=None, compute: bool = True):
    """Tree SHAP interaction values on a seeded sample of rows, computed on request and stored with the run."""
    from core import explain as ex
    stem = run_store().folder(run_id) / "explain" / f"interactions_{seed}"

    def work(progress):
        X, _, _ = ex.all_rows(run_split(run_id, version))
        picked = X.iloc[ex.sample_positions(len(X), rows, seed)]
        value = ex.interaction_values(explain_engine(run_id, version, "tree"), picked, progress)
        ex.save_interactions(value, stem)
        return value
    return _shelved(("inter", run_id, version, seed), lambda: ex.load_interactions(stem), work, progress, compute)


@st.cache_resource(max_entries=16, show_spinner="Timing interaction values on 1 row…")
def interaction_seconds_per_row(run_id: str, version: str) -> float:
    from core.explain import interaction_values
    return interaction_values(explain_engine(run_id, version, "tree"), run_split(run_id, version).X_test.iloc[:1]).seconds
