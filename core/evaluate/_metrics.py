"""Metrics computed from stored predictions, so a saved run can be reopened without its model.

A run keeps, per split, a :class:`Predictions` (true labels, predicted labels, class probabilities).
:func:`evaluate` turns the train and test predictions into a :class:`MetricReport`: the numbers,
the confusion matrix, the per-class table and the plain-language sentences pages show.

Conventions
-----------
- Classification labels are compared as strings (``str(label)``); ``Predictions.labels`` gives the
  column order of ``proba``.
- Every number equals scikit-learn's own metric function on the same arrays, with
  ``zero_division=0`` where a ratio can be undefined (e.g. precision when nothing is flagged).
- Overfitting thresholds: train minus test accuracy above 0.05 (5 points) for classification,
  train minus test R² above 0.10 for regression.

scikit-learn and pandas are imported inside the functions that need them, so importing this module
(e.g. for ``MetricReport`` on the landing page) stays fast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from core.common import ModelDeckError

CLASSIFICATION = "classification"
REGRESSION = "regression"

#: Train-minus-test gap on the primary metric above which a report says "it memorised".
OVERFIT_GAP = {CLASSIFICATION: 0.05, REGRESSION: 0.10}

#: Label names (lower case) that usually mean "the case we are looking for" in a binary problem.
POSITIVE_NAMES = (
    "malignant", "yes", "1", "true", "churned", "churn", "positive", "pos", "fraud", "fraudulent",
    "spam", "default", "defaulted", "sick", "disease", "diseased", "failure", "fail", "failed",
    "bad", "abnormal", "anomaly", "attack", "left", "survived", "y", "t",
)

Progress = Callable[[float, str], Any]


# --------------------------------------------------------------------------------------------
# Stored predictions
# --------------------------------------------------------------------------------------------
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
    return Predictions(_as_str(y), _as_str(y_pred), proba, labels)


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricReport:
    """Scores on the train and test splits (and cross-validation), plus the sentences to show."""

    task: str
    test: dict[str, float]
    train: dict[str, float]
    cv: dict[str, tuple[float, float]] = field(default_factory=dict)
    per_class: list[dict] = field(default_factory=list)
    confusion: list[list[int]] | None = None
    labels: list[str] | None = None
    n_train: int = 0
    n_test: int = 0
    positive_label: str | None = None
    primary: str = "accuracy"

    # ---- judgements ----
    def gap(self) -> float:
        """Train minus test on the primary metric (nan when either is missing)."""
        train, test = self.train.get(self.primary), self.test.get(self.primary)
        if train is None or test is None:
            return float("nan")
        return float(train) - float(test)

    def overfitting(self) -> bool:
        """True when the train-test gap on the primary metric exceeds OVERFIT_GAP for the task."""
        gap = self.gap()
        return bool(np.isfinite(gap) and gap > OVERFIT_GAP.get(self.task, 0.05))

    # ---- sentences ----
    def headline(self) -> str:
        """The sentence a non-engineer reads under the score cards."""
        if self.task == REGRESSION:
            return self._regression_headline()
        return self._classification_headline()

    def _classification_headline(self) -> str:
        acc = self.test.get("accuracy", float("nan"))
        rows = f"the {self.n_test:,} test rows it never saw"
        sentence = (
            f"The model is right {_times_out_of_100(acc)} out of 100 ({_pct(acc)} accuracy) on {rows}."
        )
        if self.positive_label is not None and "precision" in self.test:
            pos = self.positive_label
            precision, recall = self.test["precision"], self.test.get("recall", float("nan"))
            support = _support_of(self.per_class, pos)
            flagged = _flagged_count(self.confusion, self.labels, pos)
            if flagged == 0:
                sentence += f" It never flags a case as '{pos}', so it misses every one of them."
            elif support == 0:
                sentence += f" The test rows contain no '{pos}' case, so its hit rate cannot be measured."
            else:
                right = (f"every case it flags as '{pos}' really is one" if precision >= 1
                         else f"of the cases it flags as '{pos}', {_per100(precision)} in 100 really are")
                missed = (f"it misses none of the '{pos}' cases" if recall >= 1
                          else f"it misses {_per100(1 - recall)} of every 100 '{pos}' cases")
                sentence += f" {right[0].upper() + right[1:]}; {missed}."
        elif self.per_class and len(self.per_class) > 2:
            weakest = min(self.per_class, key=lambda row: (row["recall"], -row["support"]))
            if weakest["support"] > 0 and weakest["recall"] < acc - 0.05:
                sentence += (
                    f" It is weakest on '{weakest['label']}': it recognises "
                    f"{_per100(weakest['recall'])} of every 100 such rows."
                )
        return sentence

    def _regression_headline(self) -> str:
        mae, r2 = self.test.get("mae", float("nan")), self.test.get("r2", float("nan"))
        sentence = (
            f"On the {self.n_test:,} test rows it never saw, predictions are off by "
            f"{_num(mae)} on average (MAE); "
        )
        if np.isfinite(r2) and r2 < 0:
            sentence += (
                f"the model does worse than always guessing the average (R² = {_r2(r2)}). "
                "Try another model or better features."
            )
        else:
            sentence += f"the model explains {_pct(r2, 0)} of the variation (R²)."
        return sentence

    def overfitting_sentence(self) -> str | None:
        """A warning when the model scores clearly better on its training data; else None."""
        if not self.overfitting():
            return None
        train, test = self.train[self.primary], self.test[self.primary]
        advice = "Try more regularisation, dropout or fewer/shallower trees, or get more data."
        if self.task == REGRESSION:
            on_new = _pct(test) if test >= 0 else f"none of it (R² = {_r2(test)})"
            return (
                f"The model explains {_pct(train)} of the variation on data it trained on but only "
                f"{on_new} on new data: it memorised. {advice}"
            )
        return (
            f"The model scores {_pct(train)} on data it trained on but {_pct(test)} on new data: "
            f"it memorised. {advice}"
        )

    # ---- persistence ----
    def to_dict(self) -> dict:
        """JSON-safe dict (plain floats/ints/strings; cv tuples become 2-lists)."""
        return {
            "task": self.task,
            "test": {k: _float(v) for k, v in self.test.items()},
            "train": {k: _float(v) for k, v in self.train.items()},
            "cv": {k: [_float(m), _float(s)] for k, (m, s) in self.cv.items()},
            "per_class": [
                {
                    "label": str(row["label"]),
                    "precision": _float(row["precision"]),
                    "recall": _float(row["recall"]),
                    "f1": _float(row["f1"]),
                    "support": int(row["support"]),
                }
                for row in self.per_class
            ],
            "confusion": None if self.confusion is None else [[int(v) for v in r] for r in self.confusion],
            "labels": None if self.labels is None else [str(x) for x in self.labels],
            "n_train": int(self.n_train),
            "n_test": int(self.n_test),
            "positive_label": self.positive_label,
            "primary": self.primary,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "MetricReport":
        return cls(
            task=d["task"],
            test={k: float(v) for k, v in d.get("test", {}).items()},
            train={k: float(v) for k, v in d.get("train", {}).items()},
            cv={k: (float(v[0]), float(v[1])) for k, v in d.get("cv", {}).items()},
            per_class=[dict(row) for row in d.get("per_class", [])],
            confusion=None if d.get("confusion") is None else [list(map(int, r)) for r in d["confusion"]],
            labels=None if d.get("labels") is None else list(d["labels"]),
            n_train=int(d.get("n_train", 0)),
            n_test=int(d.get("n_test", 0)),
            positive_label=d.get("positive_label"),
            primary=d.get("primary", "r2" if d["task"] == REGRESSION else "accuracy"),
        )


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------
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


def classification_scores(
    y_true, y_pred, proba=None, labels=None, positive_label=None
) -> dict[str, float]:
    """accuracy, balanced_accuracy, precision/recall/f1 (_macro, _weighted; plain = positive class for
    binary), and with probabilities roc_auc, average_precision, log_loss.

    Macro/weighted averages use scikit-learn's default label set (classes present in y_true or
    y_pred). Probability metrics that are undefined on these rows (e.g. a class missing from
    y_true) are left out rather than reported as nan.
    """
    from sklearn import metrics as skm

    y_true, y_pred = _as_str(y_true), _as_str(y_pred)
    labels = _resolve_labels(labels, y_true, y_pred)
    scores: dict[str, float] = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": _quiet(skm.balanced_accuracy_score, y_true, y_pred),
    }
    for avg in ("macro", "weighted"):
        scores[f"precision_{avg}"] = skm.precision_score(y_true, y_pred, average=avg, zero_division=0)
        scores[f"recall_{avg}"] = skm.recall_score(y_true, y_pred, average=avg, zero_division=0)
        scores[f"f1_{avg}"] = skm.f1_score(y_true, y_pred, average=avg, zero_division=0)

    binary = len(labels) == 2
    pos = None
    if binary:
        pos = str(positive_label) if positive_label is not None else default_positive_label(labels)
        kw = dict(labels=labels, pos_label=pos, average="binary", zero_division=0)
        scores["precision"] = skm.precision_score(y_true, y_pred, **kw)
        scores["recall"] = skm.recall_score(y_true, y_pred, **kw)
        scores["f1"] = skm.f1_score(y_true, y_pred, **kw)

    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.shape[1] != len(labels):
            raise ModelDeckError(
                f"The probabilities have {proba.shape[1]} columns but there are {len(labels)} classes "
                f"({', '.join(labels)}); store the model's classes_ as the labels."
            )
        if binary:
            score = proba[:, labels.index(pos)]
            is_pos = y_true == pos
            if 0 < is_pos.sum() < len(is_pos):
                scores["roc_auc"] = skm.roc_auc_score(is_pos, score)
                scores["average_precision"] = skm.average_precision_score(is_pos, score)
        else:
            present = set(y_true)
            if all(label in present for label in labels):
                scores["roc_auc"] = _try(
                    skm.roc_auc_score, y_true, proba, multi_class="ovr", average="macro", labels=labels
                )
                onehot = (y_true[:, None] == np.asarray(labels)[None, :]).astype(int)
                scores["average_precision"] = _try(
                    skm.average_precision_score, onehot, proba, average="macro"
                )
        scores["log_loss"] = _try(skm.log_loss, y_true, proba, labels=labels)
    return {k: float(v) for k, v in scores.items() if v is not None and np.isfinite(v)}


def regression_scores(y_true, y_pred) -> dict[str, float]:
    """mae, rmse, r2, and mape (as a fraction) when no true value is zero."""
    from sklearn import metrics as skm

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    scores = {
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "rmse": skm.root_mean_squared_error(y_true, y_pred),
        "r2": skm.r2_score(y_true, y_pred) if len(y_true) > 1 else float("nan"),
    }
    if len(y_true) and not np.any(y_true == 0):
        scores["mape"] = skm.mean_absolute_percentage_error(y_true, y_pred)
    return {k: float(v) for k, v in scores.items() if np.isfinite(v)}


def per_class_table(y_true, y_pred, labels) -> list[dict]:
    """[{"label", "precision", "recall", "f1", "support"}] for every class in `labels`."""
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred = _as_str(y_true), _as_str(y_pred)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return [
        {"label": label, "precision": float(pi), "recall": float(ri), "f1": float(fi), "support": int(si)}
        for label, pi, ri, fi, si in zip(labels, p, r, f, s)
    ]


def evaluate(
    train: Predictions,
    test: Predictions,
    task: str,
    cv: dict | None = None,
    positive_label=None,
) -> MetricReport:
    """Score both splits and build the report (confusion matrix and per-class table on test)."""
    cv = {k: (float(v[0]), float(v[1])) for k, v in (cv or {}).items()}
    if task == REGRESSION:
        return MetricReport(
            task=REGRESSION,
            test=regression_scores(test.y_true, test.y_pred),
            train=regression_scores(train.y_true, train.y_pred),
            cv=cv,
            n_train=len(train),
            n_test=len(test),
            primary="r2",
        )
    if task != CLASSIFICATION:
        raise ModelDeckError(f"Unknown task '{task}'; use 'classification' or 'regression'.")

    labels = test.labels or train.labels
    if labels is None:
        labels = _resolve_labels(
            None, np.concatenate([_as_str(p.y_true) for p in (train, test)]),
            np.concatenate([_as_str(p.y_pred) for p in (train, test)]),
        )
    labels = [str(label) for label in labels]
    pos = None
    if len(labels) == 2:
        pos = str(positive_label) if positive_label is not None else default_positive_label(labels)
        if pos not in labels:
            raise ModelDeckError(
                f"The positive class '{pos}' is not one of the classes ({', '.join(labels)})."
            )

    def scores(pred: Predictions) -> dict[str, float]:
        proba = pred.proba
        if proba is not None and pred.labels is not None and pred.labels != labels:
            proba = _reorder_columns(proba, pred.labels, labels)
        return classification_scores(pred.y_true, pred.y_pred, proba, labels, pos)

    from sklearn.metrics import confusion_matrix

    confusion = confusion_matrix(_as_str(test.y_true), _as_str(test.y_pred), labels=labels)
    return MetricReport(
        task=CLASSIFICATION,
        test=scores(test),
        train=scores(train),
        cv=cv,
        per_class=per_class_table(test.y_true, test.y_pred, labels),
        confusion=confusion.astype(int).tolist(),
        labels=labels,
        n_train=len(train),
        n_test=len(test),
        positive_label=pos,
        primary="accuracy",
    )


# --------------------------------------------------------------------------------------------
# Cross-validation
# --------------------------------------------------------------------------------------------
CV_SCORERS = {
    CLASSIFICATION: {
        "accuracy": "accuracy",
        "balanced_accuracy": "balanced_accuracy",
        "f1_macro": "f1_macro",
        "roc_auc": None,  # "roc_auc" (binary) or "roc_auc_ovr" (multiclass), chosen per data set
    },
    REGRESSION: {
        "r2": "r2",
        "mae": "neg_mean_absolute_error",  # reported positive
        "rmse": "neg_root_mean_squared_error",  # reported positive
    },
}


def cross_validate_model(
    estimator,
    X,
    y,
    task: str,
    folds: int = 5,
    random_state: int = 42,
    progress: Progress | None = None,
) -> dict[str, tuple[float, float]]:
    """metric -> (mean, std over folds). StratifiedKFold(shuffle, seeded) for classification,
    KFold(shuffle, seeded) for regression; each fold fits a clone of `estimator` (n_jobs=1).

    The std is the population std (numpy's default, like ``cross_val_score(...).std()``). When the
    smallest class has fewer rows than `folds`, the number of folds drops to that count (the
    progress message says so); fewer than 2 rows in a class raises ModelDeckError. A metric that
    fails on some fold (e.g. ROC AUC when a fold lacks a class) is left out.
    """
    from sklearn.base import clone
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import KFold, StratifiedKFold

    y_arr = np.asarray(y)
    n = len(y_arr)
    note = ""
    if task == CLASSIFICATION:
        _, counts = np.unique(_as_str(y_arr), return_counts=True)
        if len(counts) < 2:
            raise ModelDeckError("The target has only one class; cross-validation needs at least 2.")
        smallest = int(counts.min())
        if smallest < 2:
            raise ModelDeckError(
                "A class has only 1 row, so it cannot appear in both a training and a test fold. "
                "Remove or merge rare classes, or add more rows."
            )
        if smallest < folds:
            note = f" (using {smallest} folds: the smallest class has only {smallest} rows)"
            folds = smallest
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        names = dict(CV_SCORERS[CLASSIFICATION])
        names["roc_auc"] = "roc_auc" if len(counts) == 2 else "roc_auc_ovr"
    elif task == REGRESSION:
        if n < 2:
            raise ModelDeckError("Cross-validation needs at least 2 rows.")
        if n < folds:
            note = f" (using {n} folds: there are only {n} rows)"
            folds = n
        splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
        names = dict(CV_SCORERS[REGRESSION])
    else:
        raise ModelDeckError(f"Unknown task '{task}'; use 'classification' or 'regression'.")
    folds = int(folds)
    if folds < 2:
        raise ModelDeckError("Cross-validation needs at least 2 folds.")

    scorers = {name: get_scorer(scoring) for name, scoring in names.items()}
    per_fold: dict[str, list[float]] = {name: [] for name in scorers}
    failed: set[str] = set()
    for i, (train_idx, test_idx) in enumerate(splitter.split(np.zeros(n), y_arr)):
        model = clone(estimator)
        model.fit(_rows(X, train_idx), _rows(y, train_idx))
        X_test, y_test = _rows(X, test_idx), _rows(y, test_idx)
        for name, scorer in scorers.items():
            if name in failed:
                continue
            try:
                value = float(scorer(model, X_test, y_test))
            except (ValueError, AttributeError, TypeError):
                failed.add(name)
                continue
            if not np.isfinite(value):
                failed.add(name)
                continue
            per_fold[name].append(-value if names[name].startswith("neg_") else value)
        if progress is not None:
            first = next((k for k in scorers if k not in failed and per_fold[k]), None)
            detail = f": {first} {per_fold[first][-1]:.3f}" if first else ""
            progress((i + 1) / folds, f"Cross-validation fold {i + 1} of {folds}{detail}{note}")
    return {
        name: (float(np.mean(vals)), float(np.std(vals)))
        for name, vals in per_fold.items()
        if name not in failed and len(vals) == folds
    }


# --------------------------------------------------------------------------------------------
# Thresholds and curves
# --------------------------------------------------------------------------------------------
def threshold_sweep(y_true, score, positive_label, thresholds=None):
    """One row per threshold (a row is flagged when score >= threshold): threshold, precision,
    recall, f1, flagged_share, tp, fp, fn, tn. Undefined ratios are 0 (zero_division=0).

    Default thresholds: 0.00, 0.01, …, 1.00 for probabilities; else 101 quantiles of the scores.
    """
    import pandas as pd

    is_pos, score = _binary_target(y_true, score, positive_label)
    if thresholds is None:
        if len(score) and score.min() >= 0 and score.max() <= 1:
            thresholds = np.round(np.linspace(0, 1, 101), 2)
        else:
            thresholds = np.unique(np.quantile(score, np.linspace(0, 1, 101))) if len(score) else []
    thresholds = np.asarray(thresholds, dtype=float)
    pos_sorted, neg_sorted = np.sort(score[is_pos]), np.sort(score[~is_pos])
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, thresholds, side="left")
    fp = len(neg_sorted) - np.searchsorted(neg_sorted, thresholds, side="left")
    fn, tn = len(pos_sorted) - tp, len(neg_sorted) - fp
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "flagged_share": _ratio(tp + fp, np.full_like(tp, len(score))),
            "tp": tp.astype(int),
            "fp": fp.astype(int),
            "fn": fn.astype(int),
            "tn": tn.astype(int),
        }
    )


def at_threshold(y_true, score, positive_label, threshold: float) -> dict:
    """precision, recall, f1, accuracy, flagged_share, tp, fp, fn, tn when flagging score >= threshold."""
    is_pos, score = _binary_target(y_true, score, positive_label)
    flagged = score >= threshold
    tp = int(np.sum(flagged & is_pos))
    fp = int(np.sum(flagged & ~is_pos))
    fn = int(np.sum(~flagged & is_pos))
    tn = int(np.sum(~flagged & ~is_pos))
    n = len(score)
    return {
        "threshold": float(threshold),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "accuracy": (tp + tn) / n if n else 0.0,
        "flagged_share": (tp + fp) / n if n else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def positive_scores(pred: Predictions, positive_label=None) -> tuple[np.ndarray, str]:
    """The probability column of the positive class of a binary Predictions, and that label."""
    proba, labels = _require_proba(pred)
    pos = str(positive_label) if positive_label is not None else default_positive_label(labels)
    if pos not in labels:
        raise ModelDeckError(f"The positive class '{pos}' is not one of the classes ({', '.join(labels)}).")
    return proba[:, labels.index(pos)], pos


def roc_points(pred: Predictions, positive_label=None) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """label -> (fpr, tpr, auc). Binary: the positive class only; multiclass: each class vs the rest.
    Classes with no (or only) rows in y_true are left out (their curve is undefined)."""
    from sklearn.metrics import auc, roc_curve

    out = {}
    for label, is_pos, score in _one_vs_rest(pred, positive_label):
        fpr, tpr, _ = roc_curve(is_pos, score)
        out[label] = (fpr, tpr, float(auc(fpr, tpr)))
    return out


def pr_points(pred: Predictions, positive_label=None) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """label -> (precision, recall, average_precision), like roc_points."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    out = {}
    for label, is_pos, score in _one_vs_rest(pred, positive_label):
        precision, recall, _ = precision_recall_curve(is_pos, score)
        out[label] = (precision, recall, float(average_precision_score(is_pos, score)))
    return out


def calibration_points(
    pred: Predictions, positive_label=None, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prob_true, prob_pred, counts) per non-empty bin of equal width.

    Binary: predicted probability of the positive class vs the share that really is positive
    (same numbers as sklearn.calibration.calibration_curve). Multiclass: the top-label confidence
    vs the share of rows where the top label is right.
    """
    proba, labels = _require_proba(pred)
    y_true = _as_str(pred.y_true)
    if len(labels) == 2:
        prob, _pos = positive_scores(pred, positive_label)
        hit = y_true == _pos
    else:
        prob = proba.max(axis=1)
        top = np.asarray(labels)[proba.argmax(axis=1)]
        hit = top == y_true
    bins = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(bins[1:-1], prob)  # same binning as calibration_curve(strategy="uniform")
    sums = np.bincount(ids, weights=prob, minlength=n_bins)
    trues = np.bincount(ids, weights=hit.astype(float), minlength=n_bins)
    counts = np.bincount(ids, minlength=n_bins)
    nonzero = counts != 0
    return trues[nonzero] / counts[nonzero], sums[nonzero] / counts[nonzero], counts[nonzero].astype(int)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _as_str(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        return arr.astype(str)
    return np.asarray([str(v) for v in arr.ravel()], dtype=str) if arr.size else arr.astype(str)


def _resolve_labels(labels, y_true, y_pred) -> list[str]:
    if labels is not None:
        return [str(label) for label in labels]
    return sorted(set(_as_str(y_true)) | set(_as_str(y_pred)))


def _reorder_columns(proba: np.ndarray, have: list[str], want: list[str]) -> np.ndarray:
    missing = [label for label in want if label not in have]
    if missing:
        raise ModelDeckError(f"The stored probabilities have no column for class(es) {', '.join(missing)}.")
    return proba[:, [have.index(label) for label in want]]


def _rows(data, idx):
    if hasattr(data, "iloc"):  # pandas
        return data.iloc[idx]
    if hasattr(data, "shape"):  # numpy array or scipy sparse matrix
        return data[idx]
    return np.asarray(data)[idx]


def _binary_target(y_true, score, positive_label) -> tuple[np.ndarray, np.ndarray]:
    is_pos = _as_str(y_true) == str(positive_label)
    score = np.asarray(score, dtype=float).ravel()
    if len(score) != len(is_pos):
        raise ModelDeckError(f"There are {len(is_pos)} labels but {len(score)} scores.")
    return is_pos, score


def _require_proba(pred: Predictions) -> tuple[np.ndarray, list[str]]:
    if pred.proba is None or pred.labels is None:
        raise ModelDeckError(
            "This chart needs class probabilities, and this model gives only hard predictions. "
            "Pick a model with predict_proba (e.g. logistic regression or a random forest)."
        )
    return pred.proba, pred.labels


def _one_vs_rest(pred: Predictions, positive_label=None):
    proba, labels = _require_proba(pred)
    y_true = _as_str(pred.y_true)
    if len(labels) == 2:
        score, pos = positive_scores(pred, positive_label)
        pairs = [(pos, score)]
    else:
        pairs = [(label, proba[:, j]) for j, label in enumerate(labels)]
    for label, score in pairs:
        is_pos = y_true == label
        if 0 < is_pos.sum() < len(is_pos):
            yield label, is_pos, score


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _try(fn, *args, **kwargs):
    try:
        return _quiet(fn, *args, **kwargs)
    except ValueError:
        return None


def _quiet(fn, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. "y_pred contains classes not in y_true"
        return fn(*args, **kwargs)


def _jsonable_array(arr: np.ndarray) -> list:
    arr = np.asarray(arr)
    if arr.dtype.kind in "fiub":
        return arr.tolist()
    return [str(v) for v in arr.tolist()]


def _float(value) -> float:
    return float(value)


def _pct(value: float, decimals: int = 1) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.{decimals}f}%"


def _round100(value: float) -> int:
    return int(round(100 * value)) if np.isfinite(value) else 0


def _per100(value: float) -> str:
    """A share as 'N' in 100, never rounding an imperfect share to 0 or 100."""
    if not np.isfinite(value):
        return "an unknown number"
    n = _round100(value)
    if n >= 100 and value < 1:
        return "more than 99"
    if n <= 0 and value > 0:
        return "fewer than 1"
    return str(n)


def _r2(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 0.01 else f"{value:.2f}"


def _times_out_of_100(acc: float) -> str:
    if not np.isfinite(acc):
        return "an unknown number of times"
    times = _per100(acc)
    return "1 time" if times == "1" else f"{times} times"


def _num(value: float) -> str:
    """A number for people: 3 significant digits, thousands separators, no scientific notation."""
    if value is None or not np.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.1f}" if magnitude >= 10 or magnitude == 0 else f"{value:.2f}"
    digits = 2 - int(math.floor(math.log10(magnitude)))
    return f"{value:.{digits}f}"


def _support_of(per_class: list[dict], label: str) -> int | None:
    for row in per_class:
        if row["label"] == label:
            return int(row["support"])
    return None


def _flagged_count(confusion, labels, label) -> int | None:
    if confusion is None or labels is None or label not in labels:
        return None
    j = labels.index(label)
    return int(sum(row[j] for row in confusion))
