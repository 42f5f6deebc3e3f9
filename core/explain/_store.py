"""Explanations and interaction values stored with the run, without pickles.

Arrays go to <stem>.npz (loaded with allow_pickle=False), metadata to <stem>.json, written last and
atomically; the raw rows are not stored but taken back from the run's split by position.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.common import atomic_open, atomic_write, library_versions
from core.explain._interactions import InteractionResult
from core.explain._result import Explanation, all_rows

_ARRAYS = ("values", "values_transformed", "base_values", "outputs", "proba", "predictions", "positions", "row_ids",
           "part", "y_true")
_META = ("method", "output_kind", "output_names", "output_labels", "classes", "features", "categorical",
         "transformed_names", "additivity_error", "n_available", "seed", "background_rows", "seconds", "versions",
         "note", "seed_spread", "spread_rows")
FORMAT_VERSION = 1


def explanation_stem(folder: Path, method: str, max_rows: int, seed: int) -> Path:
    return Path(folder) / "explain" / f"shap_{method}_{max_rows}_{seed}"


def save_explanation(expl: Explanation, stem: Path) -> None:
    """Arrays to <stem>.npz (allow_pickle=False), metadata to <stem>.json; the JSON is written last."""
    arrays = {}
    for name in _ARRAYS:
        value = getattr(expl, name)
        if value is None:
            continue
        value = np.asarray(value)
        arrays[name] = value.astype(str) if value.dtype == object else value
    _save_arrays(stem.with_suffix(".npz"), arrays)
    meta = {name: getattr(expl, name) for name in _META}
    meta.update(format=FORMAT_VERSION, explainer=expl.title, output=expl.output_labels, sample_size=expl.n_rows,
                sample_positions_key="positions", saved_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    save_json(stem.with_suffix(".json"), meta)


def load_explanation(stem: Path, split) -> Explanation | None:
    """The stored explanation (None when there is none); raw rows are taken back from the run's split."""
    meta_path, array_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
    if not meta_path.exists() or not array_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT_VERSION:
        return None
    with np.load(array_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    X, _, _ = all_rows(split)
    rows = X.iloc[arrays["positions"]][meta["features"]]
    kwargs = {name: meta[name] for name in _META if name in meta}       # explanations stored before a field: default
    kwargs.update({name: arrays.get(name) for name in _ARRAYS})
    return Explanation(data=rows, **kwargs)


def latest_explanation(folder: Path, split) -> Explanation | None:
    """The most recently stored SHAP explanation of a run (for reports: never recomputes)."""
    stems = sorted((Path(folder) / "explain").glob("shap_*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for meta in stems:
        expl = load_explanation(meta.with_suffix(""), split)
        if expl is not None:
            return expl
    return None


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def save_json(path: Path, data: dict) -> None:
    atomic_write(path, json.dumps(data, indent=1))


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def save_interactions(result: InteractionResult, stem: Path) -> None:
    _save_arrays(stem.with_suffix(".npz"), {"mean_abs": result.mean_abs})
    save_json(stem.with_suffix(".json"), {"features": result.features, "n_rows": result.n_rows,
                                          "seconds": result.seconds, "output_kind": result.output_kind,
                                          "versions": library_versions()})


def load_interactions(stem: Path) -> InteractionResult | None:
    meta = load_json(stem.with_suffix(".json"))
    if meta is None or not stem.with_suffix(".npz").exists():
        return None
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as data:
        return InteractionResult(meta["features"], data["mean_abs"], meta["n_rows"], meta["seconds"],
                                 meta.get("output_kind", "value"))
