"""The cleaning pipeline and the train/test split, as the user sets them on the Data page.

``PrepOptions`` (in ``_options``, light, so pages can hold it without scikit-learn) holds the choices (stored with
every run); ``build_preprocessor`` turns them into a
scikit-learn ColumnTransformer that is fitted inside the model Pipeline, so it only ever sees the
training split (no leakage into the test scores); ``split_dataset`` makes the seeded split.

Which column goes where is the column plan's job (``core.data._columns``): numbers to the numeric steps,
categories to one-hot, frequent one-hot or target encoding by the stated rule, dates (when chosen) to
``DateParts``, the rest left out. ``PrepOptions.categories`` is "auto" for new runs; runs stored before it
read back as "one_hot" (every category one-hot, capped at 50), which is what they were trained with. A model that
splits on categories itself (gradient boosting, issue 14) gets category codes instead of one-hot columns
(``native_categories``; runs stored before it read back without).

``IQRClipper`` and ``DateParts`` can sit inside saved pipelines (skops records ``core.data._prep.<name>``):
keep them in this module, under these names.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from core.common import ModelDeckError
from core.data._columns import MAX_CATEGORIES, MIN_FREQUENCY, column_plan
from core.data._dataset import Dataset
from core.data._options import PrepOptions


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


def _impute_categories(options: PrepOptions) -> list:
    return [("impute", SimpleImputer(strategy="most_frequent"))] if options.impute_categorical != "none" else []


def _categorical_steps(options: PrepOptions) -> list:
    steps = _impute_categories(options)
    if options.one_hot:
        steps.append(("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=50)))
    else:
        steps.append(("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                               encoded_missing_value=-1)))
    return steps


def _frequent_steps(options: PrepOptions) -> list:
    return _impute_categories(options) + [("encode", OneHotEncoder(
        handle_unknown="infrequent_if_exist", sparse_output=False, min_frequency=MIN_FREQUENCY,
        max_categories=MAX_CATEGORIES + 1))]


def _target_steps(options: PrepOptions) -> list:
    """Cross-fitted target encoding with seeded shuffled folds (scikit-learn 1.9 takes them as `cv`)."""
    import sklearn
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder
    if tuple(int(x) for x in sklearn.__version__.split(".")[:2]) >= (1, 9):
        encoder = TargetEncoder(cv=KFold(5, shuffle=True, random_state=options.seed))
    else:
        encoder = TargetEncoder(random_state=options.seed)
    return _impute_categories(options) + [("encode", encoder)]


class DateParts(TransformerMixin, BaseEstimator):
    """Each date column becomes year, month and day of week (numbers); a missing date gets the training median."""

    PARTS = ("year", "month", "day_of_week")

    def fit(self, X, y=None):
        parts = self._parts(X)
        self.fill_ = np.nan_to_num(np.nanmedian(parts, axis=0), nan=0.0) if len(parts) else np.zeros(parts.shape[1])
        self.n_features_in_ = parts.shape[1] // len(self.PARTS)
        self.feature_names_in_ = np.asarray([str(c) for c in getattr(X, "columns", range(self.n_features_in_))],
                                            dtype=object)
        self.outputs_per_column_ = [len(self.PARTS)] * self.n_features_in_
        return self

    def _parts(self, X) -> np.ndarray:
        frame = pd.DataFrame(X)
        columns = []
        for name in frame.columns:
            when = pd.to_datetime(frame[name], errors="coerce", format="mixed")
            columns += [when.dt.year, when.dt.month, when.dt.dayofweek]
        return np.column_stack([c.to_numpy(dtype=float) for c in columns]) if columns else np.empty((len(frame), 0))

    def transform(self, X):
        parts = self._parts(X)
        return np.where(np.isnan(parts), self.fill_, parts)

    def get_feature_names_out(self, input_features=None):
        names = input_features if input_features is not None else self.feature_names_in_
        return np.asarray([f"{c}_{p}" for c in names for p in self.PARTS], dtype=object)


def _date_steps(options: PrepOptions) -> list:
    steps = [("parts", DateParts())]
    if options.scaling == "standard":
        steps.append(("scale", StandardScaler()))
    elif options.scaling == "minmax":
        steps.append(("scale", MinMaxScaler()))
    return steps


#: transformer name, steps, and which uses it takes; feature maps treat names starting with "cat" as categories
_GROUPS = (("num", _numeric_steps, ("numeric",)), ("cat", _categorical_steps, ("one_hot", "ordinal")),
           ("cat_frequent", _frequent_steps, ("frequent_one_hot",)), ("cat_target", _target_steps, ("target_encode",)),
           ("date", _date_steps, ("date_parts",)))
CATEGORY_INPUTS = ("one_hot", "ordinal", "frequent_one_hot", "target_encode")
#: the uses a model with its own category splits reads as category codes (``native_categories``)
NATIVE_INPUTS = ("one_hot", "ordinal", "frequent_one_hot")


def _native_steps(options: PrepOptions) -> list:
    """Category codes 0..k-1 for a model that splits on categories itself (histogram gradient boosting): the
    commonest MAX_CATEGORIES values a code each, rarer ones one shared code, unseen and missing values NaN (the
    model's own missing-value branch). Issue 14: one column per column, not one per value (×2–3 faster fits)."""
    return _impute_categories(options) + [("encode", OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan,
        min_frequency=MIN_FREQUENCY, max_categories=MAX_CATEGORIES + 1))]


def native_category_count(dataset: Dataset, options: PrepOptions) -> int:
    """How many columns `build_preprocessor(..., native_categories=True)` puts first as category codes."""
    return sum(f.use in NATIVE_INPUTS for f in column_plan(dataset, options))


def build_preprocessor(dataset: Dataset, options: PrepOptions, native_categories: bool = False) -> ColumnTransformer:
    """ColumnTransformer over the columns the column plan uses (the rest are dropped).

    With `native_categories`, the one-hot, frequent one-hot and ordinal columns become category codes instead
    ("cat_native", first, so they are the first `native_category_count` outputs); target-encoded columns stay."""
    plan = column_plan(dataset, options)
    groups = _GROUPS
    if native_categories:
        groups = (("cat_native", _native_steps, NATIVE_INPUTS),) + tuple(
            (name, steps, tuple(u for u in uses if u not in NATIVE_INPUTS)) for name, steps, uses in _GROUPS)
    transformers = []
    for name, steps, uses in groups:
        columns = [f.column for f in plan if f.use in uses]
        if columns:
            transformers.append((name, Pipeline(steps(options)), columns))
    if not transformers:
        raise ModelDeckError("There are no usable feature columns: every column is left out (empty, constant, an "
                             "identifier or text). Use at least one column on the Data page.")
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def _as_categorical_strings(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categorical columns as object strings with NaN kept, so imputers and encoders accept them."""
    X = X.copy()
    for column in categorical:
        values = X[column]          # str() of every value, vectorised (a million rows: no Python call per cell)
        X[column] = values.astype(str).astype(object).where(values.notna(), np.nan)
    return X


def split_dataset(dataset: Dataset, options: PrepOptions) -> Split:
    """Seeded train/test split, stratified for classification when every class has at least 2 rows."""
    frame = dataset.frame
    dropped = 0
    if options.drop_duplicates:
        before = len(frame)
        frame = frame.drop_duplicates()
        dropped = before - len(frame)
    plan = column_plan(dataset, options)
    X = _as_categorical_strings(frame[[f.column for f in plan if f.used]],
                                [f.column for f in plan if f.use in CATEGORY_INPUTS])
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
