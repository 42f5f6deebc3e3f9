"""The decision threshold of a two-class model: what flagging ``score >= threshold`` gives.

:func:`threshold_sweep` tabulates precision, recall, F1, the share flagged and the confusion counts
over a grid of thresholds (one sort and a binary search, not one pass per threshold);
:func:`at_threshold` gives the same numbers for one threshold plus accuracy. Undefined ratios
(precision when nothing is flagged) are 0, like scikit-learn's ``zero_division=0``.
"""
from __future__ import annotations

import numpy as np

from core.common import ModelDeckError
from core.evaluate._predictions import as_str


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


def _binary_target(y_true, score, positive_label) -> tuple[np.ndarray, np.ndarray]:
    is_pos = as_str(y_true) == str(positive_label)
    score = np.asarray(score, dtype=float).ravel()
    if len(score) != len(is_pos):
        raise ModelDeckError(f"There are {len(is_pos)} labels but {len(score)} scores.")
    return is_pos, score


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def best_f1_threshold(y_true, score, positive_label) -> float:
    """The threshold (of 0.00 … 1.00) with the highest F1 on these rows; the one nearest 0.5 among ties.

    Call it on out-of-fold predictions of the training rows, never on the test rows it will be judged on."""
    sweep = threshold_sweep(y_true, score, positive_label)
    best = sweep["f1"].max()
    ties = sweep.loc[np.isclose(sweep["f1"], best), "threshold"].to_numpy()
    return float(ties[np.argmin(np.abs(ties - 0.5))])


def threshold_sentence(chosen: float, oof_rows: int, test_point: dict, positive_label: str, objective: str) -> str:
    """How a threshold was chosen (out-of-fold rows) and what it gave on the test rows, scored once."""
    return (f"{objective} is highest at a threshold of {chosen:.2f} on out-of-fold predictions of the {oof_rows:,} "
            f"training rows (each predicted by a model that did not see it). Applied once to the test rows, it "
            f"flags {test_point['tp'] + test_point['fp']} as '{positive_label}': precision "
            f"{test_point['precision']:.1%}, recall {test_point['recall']:.1%}.")
