"""The imbalanced-learn samplers and the pipeline that holds one: `with_sampler` builds cleaning + sampler + model
as an ``imblearn.pipeline.Pipeline`` (samplers run only while fitting) or a plain scikit-learn Pipeline without."""
from __future__ import annotations

import pandas as pd

from core.common import ModelDeckError

RESAMPLERS = {"none": "no resampling", "random_over": "random oversampling", "smote": "SMOTE (synthetic rows)"}


def make_sampler(name: str, seed: int, smallest: int | None = None, folds: int = 5):
    """The imbalanced-learn sampler for `name`; SMOTE's neighbours shrink to what the rarest class in a training
    fold can give (it needs at least 2 rows of it)."""
    if name == "random_over":
        from imblearn.over_sampling import RandomOverSampler
        return RandomOverSampler(random_state=seed)
    if name == "smote":
        from imblearn.over_sampling import SMOTE
        per_fold = int(smallest * (folds - 1) / folds) if smallest else 6
        if per_fold < 2:
            raise ModelDeckError("SMOTE needs at least 2 rows of the rarest class in every training fold; this data "
                                 "has too few. Use random oversampling instead.")
        return SMOTE(random_state=seed, k_neighbors=max(1, min(5, per_fold - 1)))
    raise ModelDeckError(f"Unknown resampling '{name}'. Choose one of: {', '.join(RESAMPLERS)}.")


def with_sampler(steps: list, estimator, prep, y=None):
    """A Pipeline of `steps` + the model, with the sampler of `prep.resample` before the model when there is one."""
    from sklearn.pipeline import Pipeline
    name = getattr(prep, "resample", "none")
    if name == "none":
        return Pipeline([*steps, ("model", estimator)])
    from imblearn.pipeline import Pipeline as ResamplingPipeline
    smallest = int(pd.Series(y).value_counts().min()) if y is not None else None
    return ResamplingPipeline([*steps, ("resample", make_sampler(name, prep.seed, smallest)), ("model", estimator)])
