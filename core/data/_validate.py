"""Validation: turning any table plus a chosen target into a ``Dataset``, or a ``ModelDeckError`` that
says what to fix (a target with one class, a class with one row, text in a regression target, no usable
input column, duplicate column names, ...). Infinite numbers (``inf``) are treated as missing, with a note.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.data._dataset import TASKS, USABLE_TYPES, Dataset
from core.data._types import _examples, _try_numeric, clean_types, infer_task


def _label_strings(series: pd.Series) -> pd.Series:
    """Class labels as strings; 1.0 becomes '1'."""
    if pd.api.types.is_float_dtype(series) and np.allclose(series, np.round(series)):
        series = series.astype("int64")
    return series.astype(str)


def _prepare_target(frame: pd.DataFrame, target: str, task: str | None, notes: list[str]) -> tuple[pd.DataFrame, str]:
    series = frame[target]
    if series.isna().all():
        raise ModelDeckError(f"The target column '{target}' is empty (every value is missing). Pick another column.")
    missing = int(series.isna().sum())
    if missing:
        notes.append(
            f"Dropped {missing:,} row(s) ({missing / len(frame):.1%}) with no value in the target '{target}'."
        )
        frame = frame.loc[series.notna()].reset_index(drop=True)
    task = task or infer_task(frame[target])
    if task not in TASKS:
        raise ModelDeckError(f"Unknown task '{task}'. Choose 'classification' or 'regression'.")
    if task == "regression":
        frame = _numeric_target(frame, target, notes)
        if frame[target].nunique() < 2:       # (issue 12's bad-input corpus: a constant target)
            value = frame[target].iloc[0] if len(frame) else "nothing"
            raise ModelDeckError(f"The target '{target}' has only 1 distinct value ({value}): there is nothing to "
                                 "predict. Pick a column whose values vary.")
        if frame[target].nunique() <= 5:
            shown = ", ".join(f"{v:g}" for v in sorted(frame[target].unique()))
            notes.append(f"The target '{target}' takes only {frame[target].nunique()} values ({shown}). If they "
                         "are categories rather than amounts, choose classification.")
    else:
        _check_classes(frame[target], target)
        frame[target] = _label_strings(frame[target])
    return frame, task


def _numeric_target(frame: pd.DataFrame, target: str, notes: list[str]) -> pd.DataFrame:
    series = frame[target]
    if pd.api.types.is_bool_dtype(series):
        raise ModelDeckError(
            f"The target '{target}' is yes/no (true/false); regression needs numbers. Choose classification."
        )
    if pd.api.types.is_numeric_dtype(series):
        frame[target] = series.astype(float)
        return frame
    numeric = _try_numeric(series)
    if numeric is None:
        examples = _examples(series.dropna())
        raise ModelDeckError(
            f"The target '{target}' holds text (e.g. {examples}); regression needs numbers. Choose classification."
        )
    values, bad = numeric
    if len(bad):
        notes.append(f"Dropped {len(bad):,} row(s) whose target '{target}' is not a number ({_examples(bad)}).")
    frame[target] = values
    return frame.loc[values.notna()].reset_index(drop=True)


def _check_classes(series: pd.Series, target: str) -> None:
    labels = _label_strings(series)
    counts = labels.value_counts()
    if len(counts) < 2:
        raise ModelDeckError(
            f"The target column '{target}' has only 1 distinct value ('{counts.index[0]}'). "
            "Pick a column with at least 2 classes."
        )
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and len(counts) > 50 and infer_task(series) == "regression":
        raise ModelDeckError(
            f"The target '{target}' has {len(counts):,} distinct values; this looks like a regression target. "
            "Choose regression."
        )
    if not numeric and len(counts) > 50 and len(counts) > 0.5 * len(series):
        raise ModelDeckError(
            f"The target '{target}' has {len(counts):,} distinct values in {len(series):,} rows, too many "
            "classes to learn. Pick a column with a few classes."
        )
    rare = counts[counts < 2]
    if len(rare):
        names = ", ".join(f"'{c}'" for c in list(rare.index)[:10])
        raise ModelDeckError(
            f"In the target '{target}', {len(rare)} class(es) have only 1 row: {names}. Each class needs at "
            "least 2 rows to appear in both training and test data; drop those rows or merge them into a "
            "similar class."
        )


def _infinite_as_missing(frame: pd.DataFrame, target: str, notes: list[str]) -> pd.DataFrame:
    """±inf in a numeric column becomes missing (imputed like any gap); rows with an infinite target are dropped."""
    numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    infinite = {c: int(np.isinf(frame[c]).sum()) for c in numeric}
    infinite = {c: n for c, n in infinite.items() if n}
    if not infinite:
        return frame
    frame = frame.copy()
    if target in infinite:
        keep = ~np.isinf(frame[target])
        notes.append(f"Dropped {infinite.pop(target):,} row(s) whose target '{target}' is infinite (inf).")
        frame = frame.loc[keep].reset_index(drop=True)
    for column, count in infinite.items():
        frame[column] = frame[column].replace([np.inf, -np.inf], np.nan)
        notes.append(f"Column '{column}': {count:,} infinite value(s) (inf) were treated as missing and are filled "
                     "like any missing number.")
    return frame


def _check_features(frame: pd.DataFrame, target: str, types: dict[str, str]) -> None:
    if any(kind in USABLE_TYPES for kind in types.values()):
        return
    if not types:
        raise ModelDeckError(f"The data has only the target column '{target}'. Add at least one input column.")
    reasons = "; ".join(f"'{c}' is {kind}" for c, kind in list(types.items())[:8])
    raise ModelDeckError(
        f"No column can be used as a model input ({reasons}). "
        "Add numeric or categorical columns that describe each row."
    )


def _check_unique_names(frame: pd.DataFrame) -> None:
    names = list(frame.columns)
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        shown = ", ".join(f"'{c}'" for c in duplicated[:10])
        raise ModelDeckError(f"Column names must be unique; these appear more than once: {shown}. Rename them.")


def make_dataset(
    frame: pd.DataFrame,
    target: str,
    task: str | None = None,
    name: str = "Uploaded data",
    key: str | None = None,
    description: str = "",
    *,
    image_shape: tuple[int, int] | None = None,
    synthetic: bool = False,
    column_types: dict[str, str] | None = None,
) -> Dataset:
    """Validate a table and its target; raise ModelDeckError with the fix when it cannot be modelled.

    ``column_types`` skips detection (the given types are trusted); ``key`` defaults to
    ``"upload:<fingerprint>"``.
    """
    if frame is None or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ModelDeckError("The data set is empty. Upload a file with a header row and data rows.")
    if any(not isinstance(c, str) for c in frame.columns):
        frame, target = frame.set_axis([str(c) for c in frame.columns], axis=1), str(target)
    _check_unique_names(frame)
    if target not in frame.columns:
        shown = ", ".join(f"'{c}'" for c in list(frame.columns)[:10])
        raise ModelDeckError(f"The target column '{target}' is not in the data. Columns are: {shown}.")
    notes: list[str] = []
    frame, task = _prepare_target(frame.reset_index(drop=True), target, task, notes)
    if column_types is None:
        frame, column_types, type_notes = clean_types(frame, target)
        notes += type_notes
    frame = _infinite_as_missing(frame, target, notes)
    _check_features(frame, target, column_types)
    dataset = Dataset(
        key=key or "",
        name=name,
        frame=frame,
        target=target,
        task=task,
        column_types=column_types,
        description=description,
        image_shape=image_shape,
        synthetic=synthetic,
        notes=notes,
    )
    if not key:
        dataset.key = f"upload:{dataset.fingerprint}"
    return dataset
