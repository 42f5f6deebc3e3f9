"""How sure a test score is: bootstrap 95% intervals of the test metrics.

The test rows are resampled with replacement ``n_boot`` times (a ``numpy.random.Generator`` passed in, so the
same seed gives the same interval) and each metric is recomputed on every resample; the interval is the 2.5th
and 97.5th percentile of those values (the percentile bootstrap). The metrics are computed for all resamples
at once from counts (weights per row), not one scikit-learn call per resample; each equals scikit-learn's
metric on the resampled rows (tests check this).
"""
from __future__ import annotations

import numpy as np

from core.evaluate._predictions import CLASSIFICATION, Predictions, as_str

DEFAULT_BOOT = 1000
LEVEL = 0.95


CHUNK_CELLS = 2_000_000     # resamples are processed in chunks of at most this many (resample, row) cells
MAX_BOOT_CELLS = 40_000_000  # above this many (resample, row) cells, fewer resamples (issue 14: a million rows)
MIN_BOOT = 200


def resamples_for(n: int) -> int:
    """1000 resamples up to 40,000 rows; fewer for more rows (200 at 200,000 rows and above), so the interval of a
    large test set costs seconds, not minutes (an interval from a large test set is narrow and stable)."""
    return DEFAULT_BOOT if n * DEFAULT_BOOT <= MAX_BOOT_CELLS else max(MIN_BOOT, MAX_BOOT_CELLS // n)


def _weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) how often each row is drawn in each resample (n draws with replacement)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)


def _classification_values(pred: Predictions, w: np.ndarray, positive_label: str | None) -> dict[str, np.ndarray]:
    y, p = as_str(pred.y_true), as_str(pred.y_pred)
    labels = sorted(set(y) | set(p))
    total = w.sum(axis=1).astype(float)
    correct = (w * (y == p)).sum(axis=1)
    values = {"accuracy": correct / total}
    recalls, f1s, present = [], [], []
    for label in labels:
        t, f = (y == label), (p == label)
        tp = (w * (t & f)).sum(axis=1).astype(float)
        support = (w * t).sum(axis=1).astype(float)
        flagged = (w * f).sum(axis=1).astype(float)
        recalls.append(np.divide(tp, support, out=np.zeros_like(tp), where=support > 0))
        f1s.append(np.divide(2 * tp, support + flagged, out=np.zeros_like(tp), where=support + flagged > 0))
        present.append((support + flagged) > 0)
    recalls, f1s, present = np.array(recalls), np.array(f1s), np.array(present)
    has_support = np.array([(w * (y == label)).sum(axis=1) > 0 for label in labels])
    # balanced accuracy averages recall over the classes present in y_true; macro F1 over classes in y_true or y_pred
    values["balanced_accuracy"] = (recalls * has_support).sum(axis=0) / np.maximum(has_support.sum(axis=0), 1)
    values["f1_macro"] = (f1s * present).sum(axis=0) / np.maximum(present.sum(axis=0), 1)
    if positive_label is not None and pred.proba is not None and pred.labels and positive_label in pred.labels:
        score = pred.proba[:, pred.labels.index(positive_label)]
        values["roc_auc"] = _weighted_auc(y == positive_label, score, w)
    return values


def _weighted_auc(is_pos: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC AUC of every resample (ties count half), from row weights: the Mann-Whitney statistic."""
    order = np.argsort(score, kind="mergesort")
    s, pos, w = score[order], is_pos[order], w[:, order].astype(float)
    w_neg, w_pos = w * ~pos, w * pos
    # negatives strictly below each score, and tied with it
    groups = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    neg_cum = np.cumsum(w_neg, axis=1)
    before = np.concatenate([np.zeros((len(w), 1)), neg_cum[:, groups[1:] - 1]], axis=1)
    tied = np.add.reduceat(w_neg, groups, axis=1)
    sizes = np.diff(np.r_[groups, len(s)])
    below = np.repeat(before, sizes, axis=1)
    ties = np.repeat(tied, sizes, axis=1)
    n_pos, n_neg = w_pos.sum(axis=1), w_neg.sum(axis=1)
    wins = (w_pos * (below + 0.5 * ties)).sum(axis=1)
    auc = np.full(len(w), np.nan)
    ok = (n_pos > 0) & (n_neg > 0)
    auc[ok] = wins[ok] / (n_pos[ok] * n_neg[ok])
    return auc


def _regression_values(pred: Predictions, w: np.ndarray) -> dict[str, np.ndarray]:
    y, p = np.asarray(pred.y_true, dtype=float), np.asarray(pred.y_pred, dtype=float)
    total = w.sum(axis=1).astype(float)
    err = y - p
    mae = (w * np.abs(err)).sum(axis=1) / total
    mse = (w * err ** 2).sum(axis=1) / total
    mean = (w * y).sum(axis=1) / total
    ss_tot = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)
    r2 = np.where(ss_tot > 0, 1 - mse * total / np.where(ss_tot > 0, ss_tot, 1), np.nan)
    return {"r2": r2, "mae": mae, "rmse": np.sqrt(mse)}


def bootstrap_intervals(pred: Predictions, task: str, positive_label: str | None = None, *,
                        rng: np.random.Generator, n_boot: int | None = None,
                        level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """metric -> (low, high): the percentile bootstrap interval of the metric on these rows.

    Classification: accuracy, balanced accuracy, F1 (macro) and, for two classes with probabilities, ROC AUC.
    Regression: R², MAE, RMSE. Fewer than 2 rows give no interval (an empty dict). `n_boot` defaults to
    `resamples_for(len(pred))`.
    """
    n = len(pred)
    if n < 2:
        return {}
    n_boot = n_boot or resamples_for(n)
    values: dict[str, list[np.ndarray]] = {}
    step = max(1, CHUNK_CELLS // n)
    for start in range(0, n_boot, step):
        w = _weights(n, min(step, n_boot - start), rng)
        chunk = (_classification_values(pred, w, positive_label) if task == CLASSIFICATION
                 else _regression_values(pred, w))
        for name, draws in chunk.items():
            values.setdefault(name, []).append(draws)
    tail = 100 * (1 - level) / 2
    out = {}
    for name, parts in values.items():
        draws = np.concatenate(parts)
        draws = draws[np.isfinite(draws)]
        if len(draws) >= 0.9 * n_boot:
            low, high = np.percentile(draws, [tail, 100 - tail])
            out[name] = (float(low), float(high))
    return out
