"""What a run's model was trained on: its input columns, their kinds, the categories and ranges it has seen.

`Contract` is read from the fitted pipeline (which columns the "prep" step takes, as numbers or as categories, and
whether it fills missing values) and from the run's training rows (the categories seen and the range of every
number). New rows are checked against it (`core.predict._schema`), and drift compares them with the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError


@dataclass(frozen=True)
class Contract:
    """The columns a model expects, as it learned them."""

    features: list[str]                      # in the order the pipeline takes them
    numeric: list[str]
    categorical: list[str]
    dates: list[str]                         # read as dates (the model uses their parts)
    categories: dict[str, list[str]]         # categorical column -> categories seen in training
    ranges: dict[str, tuple[float, float]]   # numeric column -> (lowest, highest) seen in training
    fills: dict[str, object]                 # column -> what the imputers put in a missing cell
    fill_rule: str                           # for numbers: "median", "mean", … ("" when nothing is filled in)
    target: str
    task: str
    classes: list[str] | None
    fills_numbers: bool                      # missing numbers are filled in (imputer, or a model that takes NaN)
    # (missing or unseen categories never stop a model: the encoders map them to "none of the known ones")
    n_train: int = 0
    notes: list[str] = field(default_factory=list)


def _groups(prep, X_train: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(numeric, categorical, date) input columns of the ColumnTransformer: "num", "cat…" (one-hot, ordinal,
    frequent, target-encoded) and "date" groups; any other group by the training rows' dtype."""
    numeric, categorical, dates = [], [], []
    for name, step, cols in prep.transformers_:
        if name == "remainder" or step == "drop":
            continue
        for col in map(str, cols):
            kind = X_train[col].dtype if col in X_train.columns else object
            if name == "num" or (not name.startswith(("cat", "date")) and pd.api.types.is_numeric_dtype(kind)):
                numeric.append(col)
            elif name == "date" or pd.api.types.is_datetime64_any_dtype(kind):
                dates.append(col)
            else:
                categorical.append(col)
    return numeric, categorical, dates


def _fills(prep) -> tuple[dict[str, object], str]:
    """Column -> the value its imputer puts in an empty cell, and the numeric rule ("median", "mean", …)."""
    fills, rule = {}, ""
    for name, step, cols in prep.transformers_:
        imputer = getattr(step, "named_steps", {}).get("impute") if name != "remainder" else None
        if imputer is None:
            continue
        if name == "num":
            fills.update(zip(map(str, cols), map(float, imputer.statistics_)))
            rule = str(imputer.strategy).replace("_", " ")
        elif name.startswith("cat"):
            fills.update(zip(map(str, cols), map(category_text, imputer.statistics_)))
    return fills, rule


def _takes_nan(model) -> bool:
    """HistGradientBoosting learns where missing values go; other models need them filled."""
    return type(model).__name__.startswith("HistGradientBoosting")


def category_text(value) -> str | float:
    """A category as the training rows hold it: text, with whole numbers written without '.0'; NaN stays NaN."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return np.nan
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def build_contract(pipeline, X_train: pd.DataFrame, target: str, task: str) -> Contract:
    """The contract of a fitted pipeline (steps "prep" and "model") trained on X_train."""
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    features = [str(c) for c in getattr(prep, "feature_names_in_", X_train.columns)]
    missing = [c for c in features if c not in X_train.columns]
    if missing:
        raise ModelDeckError(f"The run's training rows lack the columns {missing}; the data set changed since the "
                             "run was trained. Train the model again on the current data.")
    numeric, categorical, dates = _groups(prep, X_train)
    categories = {c: sorted({category_text(v) for v in X_train[c].dropna().unique()}) for c in categorical}
    ranges = {}
    for c in numeric:
        values = pd.to_numeric(X_train[c], errors="coerce").dropna()
        ranges[c] = (float(values.min()), float(values.max())) if len(values) else (np.nan, np.nan)
    fills, fill_rule = _fills(prep)
    classes = [str(c) for c in model.classes_] if task == "classification" and hasattr(model, "classes_") else None
    return Contract(features=features, numeric=numeric, categorical=categorical, dates=dates, categories=categories,
                    ranges=ranges, fills=fills, fill_rule=fill_rule, target=target, task=task, classes=classes,
                    fills_numbers=bool(fill_rule) or _takes_nan(model), n_train=len(X_train))
