"""Cross-validation of an estimator on the training rows: metric -> (mean, std) over the folds.

The folds are seeded and shuffled: StratifiedKFold for classification, KFold for regression, with
fewer folds when the smallest class (or the data) is too small for the number asked. Fitting and
scoring run through ``sklearn.model_selection.cross_validate`` (a clone of the estimator per fold,
one process); :class:`_FoldScorer` is the scoring callable it calls once per fold, which scores every
metric with scikit-learn's own scorers, leaves out a metric that fails on a fold (e.g. ROC AUC when a
fold lacks a class) and reports progress. :func:`cross_validate_oof` also returns the out-of-fold
predictions (each training row predicted by the fold model that did not see it, as
``cross_val_predict`` would), from the same fitted folds: what thresholds and other choices are made
on, so the test split stays unseen. scikit-learn is imported inside the functions.
"""
from __future__ import annotations

import numpy as np

from core.common import DEFAULT_SEED, ModelDeckError, Progress
from core.evaluate._predictions import CLASSIFICATION, REGRESSION, Predictions, as_str

#: Metric name -> scikit-learn scoring name; "neg_" scorers are reported positive.
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


def cross_validate_model(estimator, X, y, task: str, folds: int = 5, random_state: int = DEFAULT_SEED,
                         progress: Progress | None = None) -> dict[str, tuple[float, float]]:
    """metric -> (mean, std over folds). StratifiedKFold(shuffle, seeded) for classification,
    KFold(shuffle, seeded) for regression; each fold fits a clone of `estimator` (n_jobs=1).

    The std is the population std (numpy's default, like ``cross_val_score(...).std()``). When the
    smallest class has fewer rows than `folds`, the number of folds drops to that count (the
    progress message says so); fewer than 2 rows in a class raises ModelDeckError. A metric that
    fails on some fold (e.g. ROC AUC when a fold lacks a class) is left out.
    """
    return cross_validate_oof(estimator, X, y, task, folds, random_state, progress, oof=False)[0]


def cross_validate_oof(
    estimator,
    X,
    y,
    task: str,
    folds: int = 5,
    random_state: int = DEFAULT_SEED,
    progress: Progress | None = None,
    oof: bool = True,
) -> tuple[dict[str, tuple[float, float]], Predictions | None]:
    """(metric -> (mean, std), out-of-fold Predictions) from one set of fitted folds (see
    :func:`cross_validate_model`). Row i of the out-of-fold predictions is training row i predicted by
    the fold model that was fitted without it."""
    from sklearn.model_selection import cross_validate

    y_arr = np.asarray(y)
    splitter, names, note = _plan(y_arr, task, folds, random_state)
    splits = list(splitter.split(np.zeros(len(y_arr)), y_arr))
    scorer = _FoldScorer(names, len(splits), note, progress)
    # n_jobs=1: in this process even inside a joblib context, so progress arrives fold by fold.
    results = cross_validate(estimator, X, y, cv=splits, scoring=scorer, n_jobs=1, error_score="raise",
                             return_estimator=oof)
    per_fold = {name: results[f"test_{name}"] for name in names}
    summary = {
        name: (float(np.mean(values)), float(np.std(values)))
        for name, values in per_fold.items()
        if np.all(np.isfinite(values))
    }
    if not oof:
        return summary, None
    return summary, _out_of_fold(results["estimator"], splits, X, y_arr, task)


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


def _out_of_fold(models, splits, X, y: np.ndarray, task: str) -> Predictions:
    """Each row predicted by the fold model that did not see it; probabilities in the first model's class order."""
    n = len(y)
    if task != CLASSIFICATION:
        pred = np.empty(n)
        for model, (_train, held) in zip(models, splits):
            pred[held] = np.asarray(model.predict(_rows(X, held)), dtype=float)
        return Predictions(y.astype(float), pred)
    labels = [str(c) for c in models[0].classes_]
    pred = np.empty(n, dtype=object)
    proba = np.zeros((n, len(labels))) if all(hasattr(m, "predict_proba") for m in models) else None
    for model, (_train, held) in zip(models, splits):
        rows = _rows(X, held)
        pred[held] = as_str(model.predict(rows))
        if proba is not None:
            fold_labels = [str(c) for c in model.classes_]
            fold_proba = np.asarray(model.predict_proba(rows), dtype=float)
            proba[np.ix_(held, [labels.index(c) for c in fold_labels])] = fold_proba
    return Predictions(as_str(y), as_str(pred), proba, labels)


def _plan(y: np.ndarray, task: str, folds: int, random_state: int):
    """(splitter, metric -> scoring name, note for the progress message) for this target."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y)
    note = ""
    if task == CLASSIFICATION:
        _, counts = np.unique(as_str(y), return_counts=True)
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
        splitter_class = StratifiedKFold
        names = dict(CV_SCORERS[CLASSIFICATION])
        names["roc_auc"] = "roc_auc" if len(counts) == 2 else "roc_auc_ovr"
    elif task == REGRESSION:
        if n < 2:
            raise ModelDeckError("Cross-validation needs at least 2 rows.")
        if n < folds:
            note = f" (using {n} folds: there are only {n} rows)"
            folds = n
        splitter_class = KFold
        names = dict(CV_SCORERS[REGRESSION])
    else:
        raise ModelDeckError(f"Unknown task '{task}'; use 'classification' or 'regression'.")
    folds = int(folds)
    if folds < 2:
        raise ModelDeckError("Cross-validation needs at least 2 folds.")
    return splitter_class(n_splits=folds, shuffle=True, random_state=random_state), names, note


class _FoldScorer:
    """The scoring callable cross_validate calls once per fold: metric -> score on that fold.

    Scores come from scikit-learn's scorers (``get_scorer``), "neg_" ones turned positive. A metric
    that raises or gives a non-finite value on a fold is nan there and on every later fold (so it is
    left out of the result). After each fold it reports progress with the first metric still scored.
    """

    def __init__(self, names: dict[str, str], folds: int, note: str, progress: Progress | None):
        from sklearn.metrics import get_scorer

        self.names = names
        self.scorers = {name: get_scorer(scoring) for name, scoring in names.items()}
        self.folds, self.note, self.progress = folds, note, progress
        self.failed: set[str] = set()
        self.done = 0

    def __call__(self, model, X_test, y_test) -> dict[str, float]:
        scores = {name: self._score(name, model, X_test, y_test) for name in self.scorers}
        self.done += 1
        if self.progress is not None:
            first = next((name for name in self.scorers if name not in self.failed), None)
            detail = f": {first} {scores[first]:.3f}" if first else ""
            self.progress(self.done / self.folds,
                          f"Cross-validation fold {self.done} of {self.folds}{detail}{self.note}")
        return scores

    def _score(self, name: str, model, X_test, y_test) -> float:
        if name in self.failed:
            return float("nan")
        try:
            value = float(self.scorers[name](model, X_test, y_test))
        except (ValueError, AttributeError, TypeError):
            value = float("nan")
        if not np.isfinite(value):
            self.failed.add(name)
            return float("nan")
        return -value if self.names[name].startswith("neg_") else value
