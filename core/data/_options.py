"""The cleaning and split options the user sets on the Data page (``PrepOptions``), and the imputers and scalers
offered. Plain Python only: the pages read and write these on every rerun without loading scikit-learn (the
pipeline they describe is built in ``_prep``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from core.common import DEFAULT_SEED

IMPUTERS = ("none", "mean", "median", "most_frequent")
SCALERS = ("none", "standard", "minmax")


@dataclass(frozen=True)
class PrepOptions:
    """What the user chose on the Data page; stored with every run."""

    drop_duplicates: bool = True
    impute_numeric: str = "median"
    impute_categorical: str = "most_frequent"
    clip_outliers: bool = False
    scaling: str = "standard"
    one_hot: bool = True
    test_size: float = 0.2
    seed: int = DEFAULT_SEED
    categories: str = "auto"        # "auto": the stated encoder rule; "one_hot": every category one-hot (≤ 50)
    column_uses: dict = field(default_factory=dict)    # the user's overrides: column -> use (see core.data._columns)
    resample: str = "none"          # "none" | "random_over" | "smote": oversample the training folds (core.train)
    #: models with their own category splits (gradient boosting) read categories as codes, not one-hot columns
    native_categories: bool = True


    #: what a stored dict without a field meant when it was saved (fields added later reproduce the old behaviour)
    LEGACY = {"categories": "one_hot", "native_categories": False}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "PrepOptions":
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        if data is not None:
            known = {**cls.LEGACY, **known}
        return cls(**known)

    def describe(self, has_categories: bool = True) -> str:
        """One line for captions and the run list."""
        parts = ["duplicates dropped" if self.drop_duplicates else "duplicates kept"]
        if self.impute_numeric != "none":
            parts.append(f"missing numbers → {self.impute_numeric.replace('_', ' ')}")
        if self.clip_outliers:
            parts.append("outliers clipped (IQR)")
        if self.scaling != "none":
            parts.append(f"{'standard' if self.scaling == 'standard' else 'min-max'} scaling")
        if has_categories:
            rule = "one-hot categories" if self.categories == "one_hot" else "categories by the encoder rule"
            parts.append(rule if self.one_hot else "ordinal categories")
        if self.column_uses:
            parts.append(f"{len(self.column_uses)} column choice(s) of yours")
        if self.resample != "none":
            parts.append(f"rare classes oversampled ({'SMOTE' if self.resample == 'smote' else 'random'}, "
                         "training folds only)")
        parts.append(f"{self.test_size:.0%} test split, seed {self.seed}")
        return "; ".join(parts)
