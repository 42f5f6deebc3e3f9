"""Scores from stored predictions, and :func:`evaluate`, which builds the :class:`MetricReport`.

Every number equals scikit-learn's own metric function on the same arrays, with ``zero_division=0``
where a ratio can be undefined (e.g. precision when nothing is flagged). Probability metrics that are
undefined on the rows at hand (e.g. a class missing from y_true) are left out rather than reported as
nan. scikit-learn is imported inside the functions, so importing this module stays fast.
"""
from __future__ import annotations

import numpy as np

from core.common import ModelDeckError
from core.evaluate._predictions import (
    CLASSIFICATION,
    REGRESSION,
    Predictions,
    as_str,
    default_positive_label,
)
from core.evaluate._report import MetricReport


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

    y_true, y_pred = as_str(y_true), as_str(y_pred)
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

    y_true, y_pred = as_str(y_true), as_str(y_pred)
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
            None, np.concatenate([as_str(p.y_true) for p in (train, test)]),
            np.concatenate([as_str(p.y_pred) for p in (train, test)]),
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

    confusion = confusion_matrix(as_str(test.y_true), as_str(test.y_pred), labels=labels)
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


def _resolve_labels(labels, y_true, y_pred) -> list[str]:
    if labels is not None:
        return [str(label) for label in labels]
    return sorted(set(as_str(y_true)) | set(as_str(y_pred)))


def _reorder_columns(proba: np.ndarray, have: list[str], want: list[str]) -> np.ndarray:
    missing = [label for label in want if label not in have]
    if missing:
        raise ModelDeckError(f"The stored probabilities have no column for class(es) {', '.join(missing)}.")
    return proba[:, [have.index(label) for label in want]]


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
