"""LIME for one row: the only module that imports `lime`.

LIME (tabular) perturbs the row many times around the training data's statistics (quartiles for
numbers, observed frequencies for categories, both declared here), asks the model, and fits a
weighted linear surrogate near the row. Its weights are the surrogate's, never SHAP values; its
fidelity is the surrogate's R² on those samples. A fresh explainer with a fixed seed is built for
each call, so the same row gives the same explanation twice (and sessions never share its RNG).
For classifiers LIME explains the class probability; for regression the predicted value.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.explain._methods import single_threaded
from core.explain._narrate import fmt_value

TRAINING_ROWS = 2000          # training rows LIME takes its statistics from (seeded sample)
_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


@dataclass
class LimeResult:
    row_id: str
    output_name: str
    output_kind: str              # "probability" | "value"
    conditions: list[str]         # e.g. "worst area > 1,084"
    features: list[str]           # the column of each condition
    weights: np.ndarray
    intercept: float
    local_prediction: float
    model_prediction: float
    score: float                  # R² of the weighted surrogate on its samples
    num_samples: int
    seed: int
    seconds: float

    def by_feature(self) -> pd.Series:
        """|weight| per column (for comparing rankings with SHAP)."""
        return pd.Series(np.abs(self.weights), index=self.features).groupby(level=0).sum()

    def title(self) -> str:
        return f"LIME (local linear surrogate) · R² {self.score:.2f} on {self.num_samples:,} samples · seed {self.seed}"


class _Codec:
    """Numbers as floats (missing -> training median), categories as integer codes, and back."""

    def __init__(self, X_train: pd.DataFrame, categorical: list[str]):
        self.columns = list(X_train.columns)
        self.categorical = [c for c in self.columns if c in categorical]
        self.medians = {c: float(pd.to_numeric(X_train[c], errors="coerce").median())
                        for c in self.columns if c not in self.categorical}
        self.levels = {c: sorted(X_train[c].dropna().astype(str).unique()) for c in self.categorical}

    def add_levels(self, row: pd.DataFrame) -> None:
        for c in self.categorical:
            value = str(row.iloc[0][c])
            if value not in self.levels[c]:
                self.levels[c] = self.levels[c] + [value]

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in self.columns:
            if c in self.categorical:
                lookup = {v: i for i, v in enumerate(self.levels[c])}
                cols.append(X[c].astype(str).map(lookup).fillna(0).to_numpy(float))
            else:
                cols.append(pd.to_numeric(X[c], errors="coerce").fillna(self.medians[c]).to_numpy(float))
        return np.column_stack(cols)

    def decode(self, Z: np.ndarray) -> pd.DataFrame:
        data = {}
        for j, c in enumerate(self.columns):
            if c in self.categorical:
                codes = np.clip(np.round(Z[:, j]).astype(int), 0, len(self.levels[c]) - 1)
                data[c] = np.asarray(self.levels[c], dtype=object)[codes]
            else:
                data[c] = Z[:, j]
        return pd.DataFrame(data, columns=self.columns)


def _pretty(condition: str) -> str:
    return _NUMBER.sub(lambda m: fmt_value(float(m.group())), condition)


def explain_row_lime(pipeline, X_train: pd.DataFrame, row: pd.DataFrame, categorical: list[str], task: str,
                     output_name: str | None = None, num_samples: int = 5000, seed: int = 0) -> LimeResult:
    """LIME for one raw row (a one-row DataFrame in the data set's columns)."""
    from lime.lime_tabular import LimeTabularExplainer
    if len(row) != 1:
        raise ModelDeckError("LIME explains one row at a time.")
    if num_samples < 100:
        raise ModelDeckError("LIME needs at least 100 samples to fit its local model.")
    start = time.perf_counter()
    columns = [c for c in row.columns]
    train = X_train[columns]
    if len(train) > TRAINING_ROWS:
        train = train.sample(TRAINING_ROWS, random_state=seed)
    codec = _Codec(train, categorical)
    codec.add_levels(row)
    classification = task == "classification"
    if classification:
        classes = [str(c) for c in pipeline.classes_]
        if output_name not in classes:
            raise ModelDeckError(f"'{output_name}' is not one of the model's classes: {', '.join(classes)}.")
        label = classes.index(output_name)
        predict = lambda Z: pipeline.predict_proba(codec.decode(Z))  # noqa: E731
    else:
        label, output_name = 1, output_name or "value"
        predict = lambda Z: np.asarray(pipeline.predict(codec.decode(Z)), dtype=float)  # noqa: E731
    cat_idx = [columns.index(c) for c in codec.categorical]
    explainer = LimeTabularExplainer(
        codec.encode(train), mode="classification" if classification else "regression", feature_names=columns,
        categorical_features=cat_idx, categorical_names={i: codec.levels[columns[i]] for i in cat_idx},
        class_names=classes if classification else None, discretize_continuous=True, random_state=seed)
    encoded_row = codec.encode(row)[0]
    with single_threaded(pipeline):
        exp = explainer.explain_instance(encoded_row, predict, labels=(label,), num_features=len(columns),
                                         num_samples=num_samples)
        model_out = predict(encoded_row[None, :])
    pairs = exp.as_map()[label]
    return LimeResult(
        row_id=str(row.index[0]), output_name=output_name, output_kind="probability" if classification else "value",
        conditions=[_pretty(text) for text, _ in exp.as_list(label)], features=[columns[i] for i, _ in pairs],
        weights=np.asarray([w for _, w in pairs], dtype=float), intercept=float(exp.intercept[label]),
        local_prediction=float(np.ravel(exp.local_pred)[0]),
        model_prediction=float(model_out[0, label] if classification else model_out[0]), score=float(exp.score),
        num_samples=num_samples, seed=seed, seconds=time.perf_counter() - start)


def lime_summary(result: LimeResult, overlap: int, rho: float, top: int = 5) -> str:
    """Fidelity and agreement in words."""
    fit = "reproduces" if result.score >= 0.5 else "only loosely follows"
    unit = (lambda v: f"{v:.0%}") if result.output_kind == "probability" else fmt_value  # noqa: E731
    return (f"LIME fitted a weighted linear model on {result.num_samples:,} perturbed copies of this row; it "
            f"{fit} the model near this row (R² {result.score:.2f}; it says {unit(result.local_prediction)} where the "
            f"model says {unit(result.model_prediction)}). Its strongest condition: {result.conditions[0]}. "
            f"Of SHAP's top {top} columns for this row, {overlap} are also in LIME's top {top} "
            f"(rank correlation {rho:.2f}). LIME weights are a surrogate's, not SHAP values.")
