"""What a run stores per split, and the label conventions every metric relies on.

:class:`Predictions` holds true labels, predicted labels and class probabilities, so a saved run can
be rescored without its model; :func:`predictions_from_model` builds one from a fitted estimator.
Classification labels are compared as strings (``str(label)``) and ``Predictions.labels`` gives the
column order of ``proba``. :func:`default_positive_label` picks the class a two-class problem is
about, and :func:`positive_scores` reads that class's probability column.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from core.common import ModelDeckError

CLASSIFICATION = "classification"
REGRESSION = "regression"

#: Label names (lower case) that usually mean "the case we are looking for" in a binary problem.
POSITIVE_NAMES = (
    "malignant", "yes", "1", "true", "churned", "churn", "positive", "pos", "fraud", "fraudulent",
    "spam", "default", "defaulted", "sick", "disease", "diseased", "failure", "fail", "failed",
    "bad", "abnormal", "anomaly", "attack", "left", "survived", "y", "t",
)


@dataclass(frozen=True)
class Predictions:
    """What a run stores for one split: enough to recompute every metric without the model."""

    y_true: np.ndarray  # labels (strings ok) or floats
    y_pred: np.ndarray
    proba: np.ndarray | None = None  # (n, n_classes) in `labels` order; classification only
    labels: list[str] | None = None  # class labels as strings, in proba column order

    def __post_init__(self) -> None:
        object.__setattr__(self, "y_true", np.asarray(self.y_true))
        object.__setattr__(self, "y_pred", np.asarray(self.y_pred))
        if self.proba is not None:
            proba = np.asarray(self.proba, dtype=float)
            if proba.ndim != 2 or proba.shape[0] != len(self.y_true):
                raise ModelDeckError(
                    f"The class probabilities have shape {proba.shape}, but there are "
                    f"{len(self.y_true)} rows; expected ({len(self.y_true)}, number of classes)."
                )
            object.__setattr__(self, "proba", proba)
        if self.labels is not None:
            object.__setattr__(self, "labels", [str(label) for label in self.labels])
        if len(self.y_true) != len(self.y_pred):
            raise ModelDeckError(
                f"There are {len(self.y_true)} true values but {len(self.y_pred)} predictions; "
                "they must be the same length."
            )

    def __len__(self) -> int:
        return len(self.y_true)

    def to_dict(self) -> dict:
        """JSON-safe form (lists of plain Python values)."""
        return {
            "y_true": _jsonable_array(self.y_true),
            "y_pred": _jsonable_array(self.y_pred),
            "proba": None if self.proba is None else self.proba.tolist(),
            "labels": None if self.labels is None else list(self.labels),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Predictions":
        return cls(
            y_true=np.asarray(d["y_true"]),
            y_pred=np.asarray(d["y_pred"]),
            proba=None if d.get("proba") is None else np.asarray(d["proba"], dtype=float),
            labels=d.get("labels"),
        )


def predictions_from_model(estimator, X, y, task: str) -> Predictions:
    """Predict with a fitted estimator and package the result (probabilities when it has them)."""
    y_pred = np.asarray(estimator.predict(X))
    if task != CLASSIFICATION:
        return Predictions(np.asarray(y, dtype=float), y_pred.astype(float))
    proba, labels = None, None
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        labels = [str(c) for c in classes]
    if hasattr(estimator, "predict_proba"):
        try:
            proba = np.asarray(estimator.predict_proba(X), dtype=float)
        except (AttributeError, NotImplementedError):  # e.g. SVC(probability=False)
            proba = None
    return Predictions(as_str(y), as_str(y_pred), proba, labels)


def default_positive_label(labels: Iterable) -> str:
    """The class a binary problem is about: a name like 'malignant', 'yes', '1', 'fraud'; else the
    second label in sorted order (scikit-learn's convention). Meaningful for binary problems."""
    labels = [str(label) for label in labels]
    if not labels:
        raise ModelDeckError("There are no class labels to choose a positive class from.")
    lowered = {label.strip().lower(): label for label in labels}
    for name in POSITIVE_NAMES:
        if name in lowered:
            return lowered[name]
    ordered = sorted(labels)
    return ordered[1] if len(ordered) > 1 else ordered[0]


def positive_scores(pred: Predictions, positive_label=None) -> tuple[np.ndarray, str]:
    """The probability column of the positive class of a binary Predictions, and that label."""
    proba, labels = require_proba(pred)
    pos = str(positive_label) if positive_label is not None else default_positive_label(labels)
    if pos not in labels:
        raise ModelDeckError(f"The positive class '{pos}' is not one of the classes ({', '.join(labels)}).")
    return proba[:, labels.index(pos)], pos


def require_proba(pred: Predictions) -> tuple[np.ndarray, list[str]]:
    """(proba, labels) of `pred`, or an error a person can act on when the model gave none."""
    if pred.proba is None or pred.labels is None:
        raise ModelDeckError(
            "This chart needs class probabilities, and this model gives only hard predictions. "
            "Pick a model with predict_proba (e.g. logistic regression or a random forest)."
        )
    return pred.proba, pred.labels


def as_str(values) -> np.ndarray:
    """Labels as a numpy array of strings (the form every classification metric compares)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        return arr.astype(str)
    return np.asarray([str(v) for v in arr.ravel()], dtype=str) if arr.size else arr.astype(str)


def _jsonable_array(arr: np.ndarray) -> list:
    arr = np.asarray(arr)
    if arr.dtype.kind in "fiub":
        return arr.tolist()
    return [str(v) for v in arr.tolist()]
