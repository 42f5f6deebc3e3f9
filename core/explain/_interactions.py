"""Tree SHAP interaction values (trees only, on request): which columns work together.

Computed on a few rows, grouped per original column like the SHAP values, and kept as the mean
|interaction| per pair of columns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, no_progress
from core.explain._engine import ShapEngine
from core.explain._methods import single_threaded
from core.explain._narrate import fmt_push


@dataclass
class InteractionResult:
    features: list[str]
    mean_abs: np.ndarray            # (p, p, k) mean |interaction| (diagonal: main effects)
    n_rows: int
    seconds: float
    output_kind: str = "value"

    def top_pairs(self, k: int = 0, n: int = 3) -> list[tuple[str, str, float]]:
        m = self.mean_abs[:, :, k]
        pairs = [(self.features[a], self.features[b], float(2 * m[a, b]))
                 for a in range(len(self.features)) for b in range(a + 1, len(self.features))]
        return sorted(pairs, key=lambda t: -t[2])[:n]


def interaction_values(engine: ShapEngine, X: pd.DataFrame, progress: Progress | None = None,
                       chunk: int = 5) -> InteractionResult:
    """Tree SHAP interaction values on a few rows, grouped per original column (mean |value| per pair)."""
    if engine.method != "tree":
        raise ModelDeckError("Interaction values are available for tree models (random forest, gradient boosting).")
    progress = progress or no_progress
    start = time.perf_counter()
    interactions = engine._native.interactions
    total = None
    for lo in range(0, len(X), chunk):
        progress(lo / max(len(X), 1), f"Interaction values: {lo:,} of {len(X):,} rows")
        with single_threaded(engine.model):
            raw = interactions(engine.transform(X.iloc[lo:lo + chunk]))     # (n, m, m, K)
        values = np.einsum("nabK,Kk->nabk", raw, engine.output.reduce) * engine.output.scale
        part = np.abs(engine.features.group_square(values)).sum(axis=0)
        total = part if total is None else total + part
    progress(1.0, "Interaction values: done")
    return InteractionResult(engine.features.columns, total / max(len(X), 1), len(X), time.perf_counter() - start,
                             engine.output.kind)


def interaction_summary(result: InteractionResult, k: int, kind: str) -> str:
    pairs = result.top_pairs(k)
    if not pairs:
        return "Only one column: no interactions."
    a, b, v = pairs[0]
    return (f"On {result.n_rows:,} rows the strongest interaction is between {a} and {b} (about "
            f"{fmt_push(v, kind).lstrip('+')} on average): the effect of one depends on the value of the other.")
