"""The SHAP engine: one explainer for one fitted pipeline, explaining raw rows in chunks with progress.

`ShapEngine` picks the back-end, draws a seeded background sample of training rows, maps the native
SHAP values to the explained output and checks additivity against it. Deep SHAP is probed on a few
rows first and replaced by Gradient SHAP when its sums do not hold within ADDITIVITY_TOL.

An engine is shared by every session that explains the same model (the pages cache it), so it never changes
after it is built: `explain` takes the random generator it draws from (a fresh one seeded with the engine's
seed when none is given), and when Deep SHAP's sums break on some rows it explains them with a new Gradient
SHAP engine (`fallback`) and says so in the batch, leaving itself as it was.
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, no_progress
from core.explain._backends import BACKENDS
from core.explain._features import OutputSpec, feature_map, output_spec
from core.explain._methods import METHOD_TITLES, _NamedMethod, available_methods, is_agnostic, single_threaded

ADDITIVITY_TOL = 1e-4                # largest |base + sum(values) - output| an exact method may leave
#: background rows drawn from the training split, per method (tree needs none)
BACKGROUND_ROWS = {"tree": 0, "linear": 1000, "deep": 50, "gradient": 50, "permutation": 25, "kernel": 200}
#: rows explained per call, so progress moves and a rerun can interrupt between chunks
CHUNK_ROWS = {"tree": 500, "linear": 5000, "deep": 50, "gradient": 20, "permutation": 4, "kernel": 2}


@dataclass
class ShapBatch:
    """SHAP values for some rows, in the explained output space."""

    values: np.ndarray             # (n, m, k) per transformed column
    base: np.ndarray               # (k,)
    outputs: np.ndarray            # (n, k) the explained model output
    proba: np.ndarray | None       # (n, C)
    additivity_error: float
    method: str = ""               # the method that made these values (Gradient SHAP after a Deep SHAP fallback)
    note: str = ""
    output: OutputSpec | None = None


class ShapEngine(_NamedMethod):
    """One SHAP explainer for one fitted pipeline: explains raw rows (DataFrame) in the explained output."""

    def __init__(self, pipeline, X_train: pd.DataFrame, task: str, target: str, method: str | None = None,
                 seed: int = 0):
        self.prep, self.model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
        self.task, self.target, self.seed = task, target, seed
        allowed = available_methods(pipeline)
        method = method or allowed[0]
        if method not in allowed:
            raise ModelDeckError(f"{METHOD_TITLES.get(method, method)} does not fit this model. "
                                 f"Choose one of: {', '.join(METHOD_TITLES[m] for m in allowed)}.")
        if len(X_train) < 2:
            raise ModelDeckError("Explaining needs at least 2 training rows to compare against; this data set has "
                                 f"{len(X_train)}. Upload more rows.")
        self.features = feature_map(self.prep)
        self.note = ""
        self.background = self._background(X_train, method)
        self._lock = threading.Lock()      # DeepExplainer hooks its network while it runs: one call at a time
        self._use(method)
        if method == "deep":
            self._probe_deep()

    # ----- set-up
    def _background(self, X_train: pd.DataFrame, method: str) -> np.ndarray:
        rows = BACKGROUND_ROWS[method]
        if rows == 0:
            return np.empty((0, len(self.features.transformed)))
        if len(X_train) <= rows:
            return self.transform(X_train)
        positions = np.sort(np.random.default_rng(self.seed).choice(len(X_train), size=rows, replace=False))
        return self.transform(X_train.iloc[positions])

    def _use(self, method: str) -> None:
        self.method = method
        self.output = output_spec(self.model, method, self.task, self.target)
        self._native = BACKENDS[method](self.model, self.background)

    def _probe_deep(self) -> None:
        """Deep SHAP on a few training rows: if its sums do not hold, fall back to Gradient SHAP now."""
        probe = self.background[: min(10, len(self.background))]
        try:
            error = self._explain_native(probe, np.random.default_rng(self.seed)).additivity_error
        except Exception as exc:  # noqa: BLE001 - an unsupported layer can fail in many ways
            error, reason = np.inf, f"Deep SHAP failed on this network ({type(exc).__name__})"
        else:
            reason = f"Deep SHAP's sums were off by {error:.1e} (a layer DeepLIFT does not support)"
        if not error <= ADDITIVITY_TOL:       # still being built: nobody else holds this engine yet
            self.note = f"{reason}; using Gradient SHAP (expected gradients) instead, which is approximate."
            self._use("gradient")

    def fallback(self, note: str) -> "ShapEngine":
        """A new engine like this one that uses Gradient SHAP (this one is left as it is)."""
        other = copy.copy(self)
        other.note, other._lock = note, threading.Lock()
        other._use("gradient")
        return other

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.prep.transform(X), dtype=float)

    # ----- explaining
    def _explain_native(self, X_t: np.ndarray, rng: np.random.Generator) -> ShapBatch:
        if self.method == "deep":
            with self._lock:
                phi, base, out = self._native(X_t, rng)
        else:
            phi, base, out = self._native(X_t, rng)
        values = self.output.apply(phi, with_offset=False)
        base_e = self.output.apply(base[None, :], with_offset=True)[0]
        out_e = self.output.apply(out, with_offset=True)
        error = float(np.max(np.abs(base_e + values.sum(axis=1) - out_e))) if len(out_e) else 0.0
        return ShapBatch(values, base_e, out_e, self.output.proba(out), error, self.method, self.note, self.output)

    def explain(self, X: pd.DataFrame, progress: Progress | None = None,
                rng: np.random.Generator | None = None) -> ShapBatch:
        """SHAP values of the rows of X (raw features), in chunks with progress. Sampled methods draw from `rng`
        (default: a new generator seeded with the engine's seed, so the same call gives the same numbers)."""
        progress = progress or no_progress
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        X_t = self.transform(X)
        chunk = CHUNK_ROWS[self.method]
        batches = []
        for start in range(0, len(X_t), chunk):
            progress(start / max(len(X_t), 1), f"{self.title}: {start:,} of {len(X_t):,} rows")
            with single_threaded(self.model):
                batches.append(self._explain_native(X_t[start:start + chunk], rng))
        if self.method == "deep" and max(b.additivity_error for b in batches) > ADDITIVITY_TOL:
            worst = max(b.additivity_error for b in batches)
            return self.fallback(f"Deep SHAP's sums were off by {worst:.1e} on these rows; using Gradient SHAP "
                                 "(expected gradients) instead, which is approximate.").explain(X, progress, rng)
        progress(1.0, f"{self.title}: done")
        first = batches[0]
        return ShapBatch(np.concatenate([b.values for b in batches]), first.base,
                         np.concatenate([b.outputs for b in batches]),
                         None if first.proba is None else np.concatenate([b.proba for b in batches]),
                         max(b.additivity_error for b in batches), first.method, first.note, first.output)

    def seconds_per_row(self, X: pd.DataFrame, rows: int | None = None) -> float:
        """Measured on a few rows (2 for the slow model-agnostic methods, else 10) after two warm-up rows
        (shap compiles helpers with numba on first use, ~10 s once per process): the time estimate."""
        rows = rows or (2 if is_agnostic(self.method) else 10)
        self.explain(X.iloc[:2])
        sample = X.iloc[2:rows + 2] if len(X) >= rows + 2 else X.iloc[:rows]
        start = time.perf_counter()
        self.explain(sample)
        return (time.perf_counter() - start) / max(len(sample), 1)
