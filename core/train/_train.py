"""Training: data set + preprocessing + model spec -> a fitted Pipeline with its scores and timings.

The test split is scored once, here, for the model trained; cross-validation of the training rows gives the
scores every choice is made on and the out-of-fold predictions (`TrainedModel.oof_pred`) thresholds are picked
on. Test scores carry bootstrap 95% intervals (seeded by the split seed)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.data import Dataset
from core.common import ModelDeckError, Progress, no_progress, sub_progress
from core.evaluate import (MetricReport, Predictions, bootstrap_intervals, cross_validate_oof, default_positive_label,
                           evaluate)
from core.models import OPTIMIZER_TITLES, OPTIMIZERS, ModelSpec, family, make_estimator
from core.data import PrepOptions, Split, build_preprocessor, native_category_count, split_dataset



@dataclass
class TrainedModel:
    """A fitted pipeline and everything measured about it."""

    pipeline: Pipeline
    spec: ModelSpec
    task: str
    dataset_key: str
    fingerprint: str
    prep: PrepOptions
    report: MetricReport
    train_pred: Predictions
    test_pred: Predictions
    oof_pred: Predictions | None = None   # out-of-fold predictions of the training rows (None without CV)
    history: list[dict] = field(default_factory=list)
    fit_seconds: float = 0.0
    predict_ms_per_row: float = 0.0
    size_bytes: int = 0
    total_seconds: float = 0.0      # split + fit + scoring + cross-validation

    @property
    def title(self) -> str:
        return self.spec.title(self.task)

    def timings(self) -> dict:
        return {"fit_seconds": self.fit_seconds, "predict_ms_per_row": self.predict_ms_per_row,
                "size_bytes": self.size_bytes, "total_seconds": self.total_seconds}


def build_pipeline(dataset: Dataset, spec: ModelSpec, prep: PrepOptions) -> Pipeline:
    if family(spec.family).images_only:   # the CNN normalises pictures itself; per-pixel scaling would distort them
        prep = replace(prep, scaling="none", clip_outliers=False)
    # with prep.resample, an imbalanced-learn sampler between cleaning and model (applied to fitted rows only)
    from core.train._sampler import with_sampler
    if dataset.task != "classification":
        prep = replace(prep, resample="none")
    y = dataset.frame[dataset.target] if prep.resample != "none" else None
    # SMOTE draws rows between neighbours: on category codes it would invent codes, so it keeps one-hot columns
    native = family(spec.family).native_categories and prep.native_categories and prep.resample != "smote"
    model = make_estimator(spec, dataset.task)
    if native:      # the category codes come first (build_preprocessor); boosting splits on them as categories
        model.set_params(categorical_features=list(range(native_category_count(dataset, prep))) or None)
    return with_sampler([("prep", build_preprocessor(dataset, prep, native_categories=native))], model, prep, y)


def check_missing(split: Split, spec: ModelSpec, prep: PrepOptions) -> None:
    if family(spec.family).handles_missing:
        return
    missing = split.X_train.isna().sum()
    numeric_gap = prep.impute_numeric == "none" and missing.any()
    if numeric_gap:
        cols = ", ".join(f"'{c}'" for c in missing[missing > 0].index[:3])
        raise ModelDeckError(f"Columns {cols} have missing values and {spec.title('classification').lower()} "
                             "cannot use them. Turn on imputation on the Data page, or pick gradient boosting.")


#: classifiers whose predict is the class of the largest predict_proba (scikit-learn's code: the forests take that
#: argmax; boosting takes it on the raw scores the probabilities rise with, so they differ only at an exact 50/50)
_PREDICT_IS_ARGMAX = ("HistGradientBoostingClassifier", "RandomForestClassifier", "ExtraTreesClassifier")


def _predictions(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, task: str) -> Predictions:
    """Predictions (and probabilities) of the rows, cleaned once for both (issue 14: the cleaning of 800,000
    rows costs seconds; samplers in the pipeline do nothing at prediction time)."""
    cleaned, model = X, pipeline[-1]
    for _, step in pipeline.steps[:-1]:
        if hasattr(step, "transform"):          # the cleaning; a sampler (fit_resample only) is skipped
            cleaned = step.transform(cleaned)
    if task != "classification":
        y_pred = model.predict(cleaned)
        return Predictions(np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float), None, None)
    labels = [str(c) for c in pipeline.classes_]
    proba = model.predict_proba(cleaned) if hasattr(model, "predict_proba") else None
    if proba is not None and type(model).__name__ in _PREDICT_IS_ARGMAX:
        y_pred = model.classes_[np.argmax(proba, axis=1)]       # their predict, without a second pass over the rows
    else:
        y_pred = model.predict(cleaned)
    return Predictions(np.asarray(y).astype(str), np.asarray(y_pred).astype(str), proba, labels)


TIMING_ROWS = 10_000   # prediction speed is timed on at most this many test rows (a per-row figure)


def _predict_ms_per_row(pipeline: Pipeline, X: pd.DataFrame, repeats: int = 3) -> float:
    """Best-of-n wall time of a batch prediction over the test rows (the first TIMING_ROWS), per row."""
    X = X.iloc[:TIMING_ROWS]
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        pipeline.predict(X)
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best / max(len(X), 1)


def model_size_bytes(pipeline: Pipeline) -> int:
    """Size of the model as the run store saves it (skops bytes)."""
    import skops.io as sio
    return len(sio.dumps(pipeline))


def _fit(pipeline: Pipeline, split: Split, spec: ModelSpec, progress: Progress) -> float:
    kwargs = {}
    if spec.family in ("mlp", "cnn"):
        kwargs["model__progress"] = lambda f, msg, hist=None: progress(0.05 + 0.6 * f, msg, hist)
    start = time.perf_counter()
    try:
        pipeline.fit(split.X_train, split.y_train, **kwargs)
    except ModelDeckError:
        raise
    except (ValueError, TypeError) as exc:
        raise ModelDeckError(f"Training {spec.title('classification')} failed on this data: {exc}") from exc
    return time.perf_counter() - start


def _folds_used(folds: int, split: Split, task: str) -> int:
    """The folds cross-validation really used (fewer when the smallest class is smaller than `folds`)."""
    if task != "classification":
        return min(folds, len(split.y_train))
    return min(folds, int(split.y_train.value_counts().min()))


SMALL_DATA_CELLS = 2_000_000   # below this many cells, one OpenMP/BLAS thread is faster than fighting for cores


def train_model(dataset: Dataset, spec: ModelSpec, prep: PrepOptions | None = None, cv_folds: int = 5,
                progress: Progress | None = None) -> TrainedModel:
    """Split, fit on the training rows only, score train/test (+ k-fold CV on the training rows).

    Small data trains on one native thread: scikit-learn's OpenMP threads make small fits several times slower
    on a 2-core machine that is doing anything else (measured: 8.7 s vs 1.4 s for boosting with 5-fold CV).
    """
    from threadpoolctl import threadpool_limits
    small = dataset.frame.size < SMALL_DATA_CELLS
    with threadpool_limits(limits=1 if small else None):
        return _train_model(dataset, spec, prep, cv_folds, progress)


def _train_model(dataset: Dataset, spec: ModelSpec, prep: PrepOptions | None, cv_folds: int,
                 progress: Progress | None) -> TrainedModel:
    start = time.perf_counter()
    prep = prep or PrepOptions()
    progress = progress or no_progress
    progress(0.0, f"Preparing {dataset.name}")
    split = split_dataset(dataset, prep)
    check_missing(split, spec, prep)
    pipeline = build_pipeline(dataset, spec, prep)
    progress(0.05, f"Training {spec.title(dataset.task)}")
    fit_seconds = _fit(pipeline, split, spec, progress)
    train_pred = _predictions(pipeline, split.X_train, split.y_train, dataset.task)
    test_pred = _predictions(pipeline, split.X_test, split.y_test, dataset.task)
    cv, oof = {}, None
    if cv_folds >= 2:
        progress(0.7, f"Cross-validating ({cv_folds} folds)")
        cv, oof = cross_validate_oof(build_pipeline(dataset, spec, prep), split.X_train, split.y_train, dataset.task,
                                     folds=cv_folds, random_state=prep.seed,
                                     progress=lambda f, m: progress(0.7 + 0.25 * f, m))
    positive = default_positive_label(train_pred.labels) if train_pred.labels and len(train_pred.labels) == 2 else None
    report = evaluate(train_pred, test_pred, dataset.task, cv=cv, positive_label=positive)
    report = replace(report, cv_folds=_folds_used(cv_folds, split, dataset.task) if cv else 0,
                     test_ci=bootstrap_intervals(test_pred, dataset.task, report.positive_label,
                                                 rng=np.random.default_rng(prep.seed)))
    model = pipeline.named_steps["model"]
    trained = TrainedModel(
        pipeline=pipeline, spec=spec, task=dataset.task, dataset_key=dataset.key, fingerprint=dataset.fingerprint,
        prep=prep, report=report, train_pred=train_pred, test_pred=test_pred, oof_pred=oof,
        history=list(getattr(model, "history_", [])), fit_seconds=fit_seconds,
        predict_ms_per_row=_predict_ms_per_row(pipeline, split.X_test), size_bytes=model_size_bytes(pipeline),
        total_seconds=time.perf_counter() - start)
    progress(1.0, f"{trained.title}: done")
    return trained


# ---------------------------------------------------------------- optimizers
def compare_optimizers(dataset: Dataset, base: ModelSpec, prep: PrepOptions | None = None,
                       optimizers: tuple[str, ...] = OPTIMIZERS, progress: Progress | None = None) -> list[TrainedModel]:
    """The same network trained with each optimizer (same seed, same split, no CV)."""
    if base.family != "mlp":
        raise ModelDeckError("Optimizer comparison needs the neural network (PyTorch MLP).")
    progress = progress or no_progress
    specs = [ModelSpec.create("mlp", seed=base.seed, **(base.params | {"optimizer": o})) for o in optimizers]
    return [train_model(dataset, spec, prep, cv_folds=0,
                        progress=sub_progress(progress, i, len(specs), OPTIMIZER_TITLES[spec.params["optimizer"]]))
            for i, spec in enumerate(specs)]


def optimizer_table(models: list[TrainedModel]) -> pd.DataFrame:
    rows = []
    for m in models:
        val = [h["val_loss"] for h in m.history if h.get("val_loss") is not None]
        rows.append({"optimizer": OPTIMIZER_TITLES[m.spec.params["optimizer"]], "epochs": len(m.history),
                     "final_train_loss": m.history[-1]["train_loss"] if m.history else np.nan,
                     "best_val_loss": min(val) if val else np.nan, "test_score": m.report.test[m.report.primary],
                     "fit_s": m.fit_seconds})
    return pd.DataFrame(rows)
