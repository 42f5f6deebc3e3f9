"""The Explanation: SHAP values of a sample of rows per original column, and how to find rows in it.

`explain_frame` explains any raw rows with an engine; `explain_split` a seeded sample (at most
DEFAULT_MAX_ROWS) of a run's train + test rows. `locate_row`, `surprising_rows` and `filter_rows` pick
rows of an Explanation for the page.

Honest labels: exact methods (Tree, Linear, Deep SHAP) state their additivity error, a real check. Sampled
methods (Permutation, Kernel, Gradient SHAP) add up by construction, so that figure says nothing; they are
explained a second time with another seed on up to SPREAD_ROWS rows and state how far the values moved.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, library_versions
from core.common import sample_positions as common_sample_positions
from core.explain._engine import ShapBatch, ShapEngine
from core.explain._methods import DEFAULT_MAX_ROWS, _NamedMethod

SAMPLED = ("permutation", "kernel", "gradient")
SPREAD_ROWS = 10          # rows explained again with a second seed, to show how much a sampled estimate moves


@dataclass
class Explanation(_NamedMethod):
    """SHAP values of a sample of rows, per original column, with everything needed to draw and tell them."""

    method: str
    output_kind: str
    output_names: list[str]
    output_labels: list[str]
    classes: list[str] | None
    features: list[str]
    categorical: list[str]
    transformed_names: list[str]
    values: np.ndarray               # (n, p, k) per original column
    values_transformed: np.ndarray   # (n, m, k) per transformed column
    base_values: np.ndarray          # (k,)
    outputs: np.ndarray              # (n, k) the explained model output
    proba: np.ndarray | None         # (n, C) class probabilities
    predictions: np.ndarray          # (n,) predicted label (str) or value
    positions: np.ndarray            # (n,) positions in pd.concat([X_train, X_test])
    row_ids: np.ndarray              # (n,) the data set's row labels (str)
    part: np.ndarray                 # (n,) "train" | "test" | "edited"
    y_true: np.ndarray               # (n,) true label / value ("" / nan when unknown)
    data: pd.DataFrame               # (n, p) raw feature values
    additivity_error: float
    n_available: int
    seed: int
    background_rows: int
    seconds: float
    versions: dict = field(default_factory=dict)
    note: str = ""
    seed_spread: float | None = None  # sampled methods: mean |change| between two seeds / mean |value|
    spread_rows: int = 0

    @property
    def n_rows(self) -> int:
        return len(self.values)

    def output_phrase(self) -> str:
        """What is explained, in one phrase: "log-odds of 'malignant'", "score of each class (…)"."""
        if len(self.output_labels) == 1:
            return self.output_labels[0]
        first = self.output_labels[0]
        return first.replace(f"'{self.output_names[0]}'", "each class")

    def fidelity(self) -> str:
        """The method and its fidelity, for every chart's subtitle."""
        sample = (f"all {self.n_rows:,} rows" if self.n_rows == self.n_available
                  else f"a seeded sample of {self.n_rows:,} of {self.n_available:,} rows (seed {self.seed})")
        if self.method not in SAMPLED:
            return f"{self.title} · {sample} · additivity error {self.additivity_error:.1e}"
        if self.seed_spread is None:
            return f"{self.title} · {sample} · an estimate (its values add up by construction, which checks nothing)"
        return (f"{self.title} · {sample} · an estimate: explained again with another seed, the values moved by "
                f"{self.seed_spread:.0%} on average ({self.spread_rows} rows)")

    def importance(self, k: int = 0) -> pd.Series:
        """Mean |SHAP| per column, largest first."""
        return pd.Series(np.abs(self.values[:, :, k]).mean(axis=0), index=self.features).sort_values(ascending=False)

    def index_of(self, row_id: str) -> int | None:
        hits = np.flatnonzero(self.row_ids == str(row_id))
        return int(hits[0]) if len(hits) else None


def _predictions(batch: ShapBatch, classes: list[str] | None) -> np.ndarray:
    if classes is None:
        return batch.outputs[:, 0].astype(float)
    return np.asarray(classes, dtype=str)[np.argmax(batch.proba, axis=1)]


def explain_frame(engine: ShapEngine, X: pd.DataFrame, *, y: pd.Series | None = None,
                  part: np.ndarray | None = None, positions: np.ndarray | None = None, n_available: int | None = None,
                  seed: int = 0, progress: Progress | None = None) -> Explanation:
    """Explain the rows of X (raw features, in the data set's columns) with the engine."""
    start = time.perf_counter()
    batch = engine.explain(X, progress, rng=np.random.default_rng(engine.seed))
    out = batch.output or engine.output
    fm = engine.features
    spread, spread_rows = _seed_spread(engine, X, batch)
    if out.classes is not None:
        y_true = np.asarray(y.astype(str), dtype=str) if y is not None else np.full(len(X), "", dtype=str)
    else:
        y_true = y.to_numpy(dtype=float) if y is not None else np.full(len(X), np.nan)
    return Explanation(
        method=batch.method or engine.method, output_kind=out.kind, output_names=list(out.names),
        output_labels=[out.label(i) for i in range(len(out.names))], classes=out.classes,
        features=fm.columns, categorical=fm.categorical, transformed_names=fm.transformed,
        values=fm.group(batch.values), values_transformed=batch.values, base_values=batch.base,
        outputs=batch.outputs, proba=batch.proba, predictions=_predictions(batch, out.classes),
        positions=np.arange(len(X)) if positions is None else np.asarray(positions),
        row_ids=np.asarray([str(i) for i in X.index]), part=np.asarray(part if part is not None else ["edited"] * len(X)),
        y_true=y_true,
        data=X[fm.columns], additivity_error=batch.additivity_error,
        n_available=n_available or len(X), seed=seed, background_rows=len(engine.background),
        seconds=time.perf_counter() - start, versions=library_versions(), note=batch.note,
        seed_spread=spread, spread_rows=spread_rows)


def _seed_spread(engine: ShapEngine, X: pd.DataFrame, batch: ShapBatch) -> tuple[float | None, int]:
    """How far a sampled method's values move with another seed: mean |difference| / mean |value| on up to
    SPREAD_ROWS rows (None, 0 for exact methods)."""
    if (batch.method or engine.method) not in SAMPLED or len(X) == 0:
        return None, 0
    rows = min(len(X), SPREAD_ROWS)
    again = engine.explain(X.iloc[:rows], rng=np.random.default_rng(engine.seed + 1)).values
    first = batch.values[:rows]
    scale = float(np.mean(np.abs(first)))
    return (float(np.mean(np.abs(again - first))) / scale if scale > 0 else 0.0), rows


def all_rows(split) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """Train and test rows together (train first), their targets and which part each came from."""
    X = pd.concat([split.X_train, split.X_test])
    y = pd.concat([split.y_train, split.y_test])
    part = np.array(["train"] * len(split.X_train) + ["test"] * len(split.X_test))
    return X, y, part


def sample_positions(n: int, max_rows: int, seed: int) -> np.ndarray:
    """At most max_rows positions out of n, seeded, in order (`core.common.sample_positions`)."""
    if max_rows < 1:
        raise ModelDeckError("Explain at least 1 row.")
    return common_sample_positions(n, max_rows, seed)


def sample_explained(expl: Explanation, max_rows: int, seed: int = 0) -> Explanation:
    """The explanation of a seeded sample of at most `max_rows` of its rows (itself when it has no more): for
    per-row pictures that would be too heavy to draw every row (the report's beeswarm)."""
    if expl.n_rows <= max_rows:
        return expl
    pos = sample_positions(expl.n_rows, max_rows, seed)
    per_row = {name: getattr(expl, name)[pos] for name in ("values", "values_transformed", "outputs", "predictions",
                                                             "positions", "row_ids", "part", "y_true")}
    return replace(expl, **per_row, proba=None if expl.proba is None else expl.proba[pos],
                   data=expl.data.iloc[pos])


def explain_split(engine: ShapEngine, split, max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0,
                  progress: Progress | None = None) -> Explanation:
    """Explain a seeded sample (at most max_rows) of the run's train + test rows."""
    X, y, part = all_rows(split)
    if len(X) < 2:
        raise ModelDeckError(f"Only {len(X)} row: explanations need at least 2 rows.")
    pos = sample_positions(len(X), max_rows, seed)
    return explain_frame(engine, X.iloc[pos], y=y.iloc[pos], part=part[pos], positions=pos, n_available=len(X),
                         seed=seed, progress=progress)


# ---------------------------------------------------------------- choosing a row
def locate_row(expl: Explanation, row_id, n_dataset_rows: int | None = None) -> int:
    """The position of a data set row in the explanation, or a clear message why it is not there."""
    text = str(row_id).strip()
    if text.endswith(".0"):
        text = text[:-2]
    i = expl.index_of(text)
    if i is not None:
        return i
    limit = f" Rows go from 0 to {n_dataset_rows - 1:,}." if n_dataset_rows else ""
    raise ModelDeckError(f"Row {text} is not among the {expl.n_rows:,} explained rows.{limit} Duplicates removed "
                         "while cleaning and rows outside the explained sample have no explanation; pick another "
                         "row or explain more rows.")


def surprising_rows(expl: Explanation, limit: int = 10) -> list[int]:
    """Confident wrong predictions (test rows first), most confident first; for regression the largest errors."""
    if expl.classes is None:
        error = np.abs(expl.predictions.astype(float) - expl.y_true.astype(float))
        order = np.argsort(-np.nan_to_num(error, nan=-1))
        return [int(i) for i in order[:limit] if np.isfinite(error[i])]
    wrong = np.flatnonzero((expl.predictions != expl.y_true) & (expl.y_true != ""))
    confidence = expl.proba.max(axis=1)
    ranked = sorted(wrong, key=lambda i: (expl.part[i] != "test", -confidence[i]))
    return [int(i) for i in ranked[:limit]]


def filter_rows(expl: Explanation, feature: str, low: float | None = None, high: float | None = None,
                categories: list[str] | None = None) -> list[int]:
    """Positions of explained rows whose `feature` is within [low, high] or among `categories`."""
    if feature not in expl.features:
        raise ModelDeckError(f"'{feature}' is not a column the model uses.")
    column = expl.data[feature]
    if feature in expl.categorical:
        mask = column.astype(str).isin([str(c) for c in (categories or [])])
    else:
        x = pd.to_numeric(column, errors="coerce")
        mask = x.notna()
        if low is not None:
            mask &= x >= low
        if high is not None:
            mask &= x <= high
    return [int(i) for i in np.flatnonzero(mask.to_numpy())]
