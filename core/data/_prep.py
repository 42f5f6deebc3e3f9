"""Profiling, cleaning, normalization and splitting.

Preprocessing is a scikit-learn ColumnTransformer that is fitted inside the model Pipeline, so it only
ever sees the training split (no leakage into the test scores).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from core.data._datasets import Dataset
from core.common import ModelDeckError

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
    seed: int = 42

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "PrepOptions":
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
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
            parts.append("one-hot categories" if self.one_hot else "ordinal categories")
        parts.append(f"{self.test_size:.0%} test split, seed {self.seed}")
        return "; ".join(parts)


class IQRClipper(TransformerMixin, BaseEstimator):
    """Clip each column to [Q1 - k·IQR, Q3 + k·IQR], with the quartiles learned on the training data."""

    def __init__(self, k: float = 1.5):
        self.k = k

    def fit(self, X, y=None):
        values = np.asarray(X, dtype=float)
        q1, q3 = np.nanpercentile(values, [25, 75], axis=0)
        iqr = q3 - q1
        self.lower_, self.upper_ = q1 - self.k * iqr, q3 + self.k * iqr
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else [], dtype=object)


@dataclass(frozen=True)
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    dropped_duplicates: int = 0
    stratified: bool = False


def _numeric_steps(options: PrepOptions) -> list:
    steps = []
    if options.impute_numeric != "none":
        steps.append(("impute", SimpleImputer(strategy=options.impute_numeric)))
    if options.clip_outliers:
        steps.append(("clip", IQRClipper()))
    if options.scaling == "standard":
        steps.append(("scale", StandardScaler()))
    elif options.scaling == "minmax":
        steps.append(("scale", MinMaxScaler()))
    return steps or [("identity", "passthrough")]


def _categorical_steps(options: PrepOptions) -> list:
    steps = []
    if options.impute_categorical != "none":
        steps.append(("impute", SimpleImputer(strategy="most_frequent")))
    if options.one_hot:
        steps.append(("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=50)))
    else:
        steps.append(("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                               encoded_missing_value=-1)))
    return steps


def build_preprocessor(dataset: Dataset, options: PrepOptions) -> ColumnTransformer:
    """ColumnTransformer for the data set's numeric and categorical features (unused columns are dropped)."""
    transformers = []
    if dataset.numeric_features:
        transformers.append(("num", Pipeline(_numeric_steps(options)), list(dataset.numeric_features)))
    if dataset.categorical_features:
        transformers.append(("cat", Pipeline(_categorical_steps(options)), list(dataset.categorical_features)))
    if not transformers:
        raise ModelDeckError("There are no usable feature columns: every column is empty, constant or an identifier.")
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def _as_categorical_strings(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categorical columns as object strings with NaN kept, so imputers and encoders accept them."""
    X = X.copy()
    for column in categorical:
        X[column] = X[column].map(lambda v: str(v) if pd.notna(v) else np.nan).astype(object)
    return X


def split_dataset(dataset: Dataset, options: PrepOptions) -> Split:
    """Seeded train/test split, stratified for classification when every class has at least 2 rows."""
    frame = dataset.frame
    dropped = 0
    if options.drop_duplicates:
        before = len(frame)
        frame = frame.drop_duplicates()
        dropped = before - len(frame)
    X = _as_categorical_strings(frame[dataset.features], dataset.categorical_features)
    y = frame[dataset.target]
    if dataset.task == "classification":
        y = y.astype(str)
    stratify = None
    if dataset.task == "classification" and y.value_counts().min() >= 2:
        stratify = y
    n_test = int(round(len(frame) * options.test_size))
    if n_test < 1 or len(frame) - n_test < 2:
        raise ModelDeckError(f"Only {len(frame)} rows: too few to hold out a test split. Upload more data.")
    if stratify is not None and n_test < y.nunique():
        stratify = None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=options.test_size, random_state=options.seed, stratify=stratify)
    return Split(X_train, X_test, y_train, y_test, dropped, stratify is not None)


# ---------------------------------------------------------------- profiling
@dataclass
class Profile:
    n_rows: int
    n_columns: int
    column_types: dict[str, str]
    missing: pd.Series            # column -> count of missing cells
    n_duplicates: int
    target_summary: pd.Series     # class counts (classification) or describe() (regression)
    numeric_summary: pd.DataFrame
    correlation: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)

    def headline(self, dataset: Dataset) -> str:
        missing_cells = int(self.missing.sum())
        unused = len(dataset.unused_columns)
        parts = [f"{self.n_rows:,} rows and {len(dataset.features):,} input columns"
                 + (f" ({unused} more not used)" if unused else "")]
        parts.append(f"{missing_cells:,} missing cells" if missing_cells else "no missing values")
        parts.append(f"{self.n_duplicates:,} duplicate rows" if self.n_duplicates else "no duplicate rows")
        text = ", ".join(parts) + "."
        if dataset.task == "classification":
            shares = self.target_summary / self.target_summary.sum()
            imbalanced = shares.max() >= 3 * shares.min()
            text += (f" The rarest class, '{shares.idxmin()}', is {shares.min():.1%} of rows"
                     f"{' — imbalanced: judge models by balanced accuracy or F1, not accuracy' if imbalanced else ''}.")
        return text


def profile(dataset: Dataset, max_corr_columns: int = 30) -> Profile:
    frame = dataset.frame
    numeric = frame[dataset.numeric_features]
    corr = None
    if numeric.shape[1] >= 2:
        cols = numeric.var(numeric_only=True).sort_values(ascending=False).index[:max_corr_columns]
        corr = numeric[cols].corr()
    if dataset.task == "classification":
        target_summary = frame[dataset.target].astype(str).value_counts()
    else:
        target_summary = frame[dataset.target].describe()
    return Profile(
        n_rows=len(frame), n_columns=frame.shape[1],
        column_types=dict(dataset.column_types),
        missing=frame.isna().sum(),
        n_duplicates=int(frame.duplicated().sum()),
        target_summary=target_summary,
        numeric_summary=numeric.describe().T if not numeric.empty else pd.DataFrame(),
        correlation=corr,
    )


@dataclass
class CleaningPreview:
    """Before/after view of the cleaning steps, computed on the training split."""

    rows_before: int
    rows_after: int
    missing_before: int
    missing_after: int
    clipped_cells: int
    before: pd.DataFrame          # training features before preprocessing (numeric only)
    after: pd.DataFrame           # same rows after the fitted preprocessor
    stats: pd.DataFrame           # per-column mean/std/min/max before and after

    def sentence(self) -> str:
        parts = [f"{self.rows_before - self.rows_after:,} duplicate rows removed" if self.rows_before != self.rows_after
                 else "no duplicate rows removed"]
        parts.append(f"{self.missing_before:,} missing cells filled" if self.missing_before and not self.missing_after
                     else f"{self.missing_after:,} missing cells left" if self.missing_after else "no missing cells")
        if self.clipped_cells:
            parts.append(f"{self.clipped_cells:,} outlier cells clipped")
        return "Cleaning on the training split: " + ", ".join(parts) + "."


def preview_cleaning(dataset: Dataset, options: PrepOptions) -> CleaningPreview:
    split = split_dataset(dataset, options)
    preprocessor = build_preprocessor(dataset, options)
    transformed = preprocessor.fit_transform(split.X_train)
    names = list(preprocessor.get_feature_names_out())
    after = pd.DataFrame(np.asarray(transformed, dtype=float), columns=names, index=split.X_train.index)
    numeric = [c for c in dataset.numeric_features if c in after.columns]
    before = split.X_train[numeric].astype(float)
    clipped = 0
    if options.clip_outliers and numeric:
        clipper = preprocessor.named_transformers_["num"].named_steps["clip"]
        imputed = before.fillna(before.median()) if options.impute_numeric != "none" else before
        clipped = int(((imputed < clipper.lower_) | (imputed > clipper.upper_)).to_numpy().sum())
    order = sorted(numeric, key=lambda c: (-int(split.X_train[c].isna().sum()), -float(before[c].std() or 0.0)))
    before = before[order]
    stats = pd.concat({"before": before.agg(["mean", "std", "min", "max"]).T,
                       "after": after[order].agg(["mean", "std", "min", "max"]).T}, axis=1)
    return CleaningPreview(
        rows_before=len(dataset.frame),
        rows_after=len(dataset.frame) - split.dropped_duplicates,
        missing_before=int(split.X_train.isna().sum().sum()),
        missing_after=int(np.isnan(after.to_numpy()).sum()),
        clipped_cells=clipped, before=before, after=after[order], stats=stats,
    )
