"""What the Data page shows before training: a profile of the table (missing cells, duplicates, target
balance, numeric summary, correlations) and a before/after preview of the cleaning on the training split.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data._dataset import Dataset
from core.data._prep import PrepOptions, build_preprocessor, split_dataset


@dataclass
class Profile:
    """A summary of the whole table, computed before any cleaning."""

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
    """Profile the data set; correlations over the ``max_corr_columns`` numeric columns that vary most."""
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
    """Fit the preprocessor on the training split and compare its numeric columns before and after."""
    split = split_dataset(dataset, options)
    preprocessor = build_preprocessor(dataset, options)
    transformed = preprocessor.fit_transform(split.X_train, split.y_train)   # target encoding learns from y
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
