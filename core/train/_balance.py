"""Imbalanced classes: oversampling the rare classes inside the pipeline, and what it changes.

`PrepOptions.resample` ("none", "random_over", "smote") puts an imbalanced-learn sampler between the cleaning and
the model in an ``imblearn.pipeline.Pipeline``: samplers run only when the pipeline is fitted, so cross-validation
resamples each training fold and never the rows it scores, and the test rows are never touched.
`compare_balancing` trains the same model plainly and with each sampler and shows, side by side, the class counts
of the training rows before and after and the cross-validated balanced accuracy and recall of the rarest class
(from out-of-fold predictions): a choice made without the test rows.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, no_progress, sub_progress
from core.train._sampler import RESAMPLERS, make_sampler

def _counts_after(dataset, prep, split) -> dict[str, int]:
    from core.data import build_preprocessor
    if prep.resample == "none":
        return split.y_train.astype(str).value_counts().to_dict()
    X_t = build_preprocessor(dataset, prep).fit_transform(split.X_train, split.y_train)
    sampler = make_sampler(prep.resample, prep.seed, int(split.y_train.value_counts().min()))
    _, y_res = sampler.fit_resample(X_t, split.y_train)
    return pd.Series(y_res).astype(str).value_counts().to_dict()


def compare_balancing(dataset, spec, prep, methods=("none", "random_over", "smote"), folds: int = 5,
                      progress: Progress | None = None) -> pd.DataFrame:
    """One row per method: training-row class counts after resampling, cross-validated balanced accuracy (mean ±
    std) and the out-of-fold recall of the rarest class. The test rows are not used."""
    from core.data import split_dataset
    from core.evaluate import cross_validate_oof, per_class_table
    from core.train._train import build_pipeline
    if dataset.task != "classification":
        raise ModelDeckError("Resampling applies to classification: a regression target has no classes to balance.")
    progress = progress or no_progress
    split = split_dataset(dataset, prep)
    rare = str(split.y_train.value_counts().idxmin())
    rows = []
    for i, method in enumerate(methods):
        options = replace(prep, resample=method)
        cv, oof = cross_validate_oof(build_pipeline(dataset, spec, options), split.X_train, split.y_train, "classification",
                                     folds=folds, random_state=prep.seed,
                                     progress=sub_progress(progress, i, len(methods), RESAMPLERS[method]))
        recall = next(r["recall"] for r in per_class_table(oof.y_true, oof.y_pred, oof.labels) if r["label"] == rare)
        mean, std = cv.get("balanced_accuracy", (np.nan, np.nan))
        rows.append({"method": method, "resampling": RESAMPLERS[method], "training rows by class":
                     _counts_after(dataset, options, split), "balanced_accuracy": mean, "balanced_accuracy_std": std,
                     f"recall of '{rare}'": recall})
    return pd.DataFrame(rows)


def balancing_sentence(table: pd.DataFrame) -> str:
    """What resampling did to the cross-validated numbers, against the plain model."""
    recall_column = next(c for c in table.columns if c.startswith("recall of"))
    plain = table.iloc[0]
    best = table.loc[table["balanced_accuracy"].idxmax()]
    change = 100 * (best["balanced_accuracy"] - plain["balanced_accuracy"])
    if best["method"] == "none" or change < 0.5:
        return (f"Resampling does not help here: the plain model's cross-validated balanced accuracy is "
                f"{plain['balanced_accuracy']:.1%}, and no sampler beats it by half a point.")
    name = best["resampling"][0].upper() + best["resampling"][1:]
    return (f"{name} raises the cross-validated balanced accuracy from "
            f"{plain['balanced_accuracy']:.1%} to {best['balanced_accuracy']:.1%} and the {recall_column} from "
            f"{plain[recall_column]:.1%} to {best[recall_column]:.1%} (out-of-fold predictions of the training rows; "
            "only training folds were resampled).")
