"""Curve points for the charts: ROC, precision-recall and calibration (reliability) points.

Binary problems give one curve, for the positive class; multiclass problems give one curve per class
against the rest (classes with no rows, or only rows, in y_true are left out: their curve is
undefined). Calibration of a multiclass model compares the top-label confidence with how often the
top label is right. All points come from scikit-learn (``roc_curve``, ``precision_recall_curve``,
``calibration_curve``), imported inside the functions.
"""
from __future__ import annotations

import numpy as np

from core.evaluate._predictions import Predictions, as_str, positive_scores, require_proba


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

    Binary: predicted probability of the positive class vs the share that really is positive.
    Multiclass: the top-label confidence vs the share of rows where the top label is right. The
    points are sklearn.calibration.calibration_curve(strategy="uniform"); it does not return the bin
    sizes, so `counts` repeats its binning (edges 0, 1/n_bins, …, 1; a value on an edge goes to the
    lower bin). Probabilities are clipped to [0, 1] first (calibration_curve rejects round-off
    outside it).
    """
    from sklearn.calibration import calibration_curve

    proba, labels = require_proba(pred)
    y_true = as_str(pred.y_true)
    if len(labels) == 2:
        prob, pos = positive_scores(pred, positive_label)
        hit = y_true == pos
    else:
        prob = proba.max(axis=1)
        hit = np.asarray(labels)[proba.argmax(axis=1)] == y_true
    if len(prob) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=int)
    prob = np.clip(prob, 0.0, 1.0)
    prob_true, prob_pred = calibration_curve(hit, prob, pos_label=True, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], prob), minlength=n_bins)
    return prob_true, prob_pred, counts[counts > 0].astype(int)


def _one_vs_rest(pred: Predictions, positive_label=None):
    proba, labels = require_proba(pred)
    y_true = as_str(pred.y_true)
    if len(labels) == 2:
        score, pos = positive_scores(pred, positive_label)
        pairs = [(pos, score)]
    else:
        pairs = [(label, proba[:, j]) for j, label in enumerate(labels)]
    for label, score in pairs:
        is_pos = y_true == label
        if 0 < is_pos.sum() < len(is_pos):
            yield label, is_pos, score
