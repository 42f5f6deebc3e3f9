"""The cleaning pipeline and the train/test split, as the user sets them on the Data page.

``PrepOptions`` holds the choices (stored with every run); ``build_preprocessor`` turns them into a
scikit-learn ColumnTransformer that is fitted inside the model Pipeline, so it only ever sees the
training split (no leakage into the test scores); ``split_dataset`` makes the seeded split.

``IQRClipper`` can sit inside saved pipelines (skops records ``core.data._prep.IQRClipper``): keep it
in this module, under this name.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from core.common import DEFAULT_SEED, ModelDeckError
from core.data._dataset import Dataset

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
    """The seeded train/test split, and how many duplicate rows were dropped before it."""

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
