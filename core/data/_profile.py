"""What the Data page shows before training: a profile of the table (missing cells, duplicates, target
balance, numeric summary, correlations) and a before/after preview of the cleaning on the training split.

Large tables (issue 14): counts (rows, missing cells, duplicates, classes) are exact; work done per row only for
display (column statistics, correlations, the cleaning preview, the charts) uses a seeded random sample of
``SAMPLE_ROWS`` rows, and ``sample_note`` says so in the words the page and the report show.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import sample_positions
from core.data._dataset import Dataset
from core.data._prep import PrepOptions, build_preprocessor, split_dataset


SAMPLE_ROWS = 50_000   # above this many rows, statistics for display come from a random sample of this many


def sample_rows(frame: pd.DataFrame, max_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The frame itself up to `max_rows` rows (default ``SAMPLE_ROWS``), else a seeded random sample of `max_rows`
    rows (in table order)."""
    max_rows = max_rows or SAMPLE_ROWS
    return frame if len(frame) <= max_rows else frame.iloc[sample_positions(len(frame), max_rows, seed)]


def sample_note(used: int, total: int, what: str = "rows") -> str:
    """'computed on a random sample of 50,000 of 1,000,000 rows' (empty when every row was used)."""
    return f"computed on a random sample of {used:,} of {total:,} {what}" if used < total else ""


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
    sampled_rows: int = 0         # rows the statistics and correlations were computed on (n_rows when all)

    def sample_note(self) -> str:
        """A sentence on the sample behind the statistics (empty when every row was used)."""
        note = sample_note(self.sampled_rows or self.n_rows, self.n_rows)
        return (f"Column statistics, correlations and charts {note}; the counts of rows, missing cells, duplicates "
                "and classes use every row." if note else "")

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


def profile(dataset: Dataset, max_corr_columns: int = 30, max_rows: int | None = None) -> Profile:
    """Profile the data set; correlations over the ``max_corr_columns`` numeric columns that vary most. Statistics
    and correlations use a seeded sample of ``max_rows`` rows (default ``SAMPLE_ROWS``) when there are more."""
    frame = dataset.frame
    shown = sample_rows(frame, max_rows)
    numeric = shown[dataset.numeric_features]
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
        correlation=corr, sampled_rows=len(shown),
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
    train_rows: int = 0           # training rows; `before`/`after` and the cell counts hold a sample when fewer

    def sentence(self) -> str:
        parts = [f"{self.rows_before - self.rows_after:,} duplicate rows removed" if self.rows_before != self.rows_after
                 else "no duplicate rows removed"]
        parts.append(f"{self.missing_before:,} missing cells filled" if self.missing_before and not self.missing_after
                     else f"{self.missing_after:,} missing cells left" if self.missing_after else "no missing cells")
        if self.clipped_cells:
            parts.append(f"{self.clipped_cells:,} outlier cells clipped")
        note = sample_note(len(self.before), self.train_rows, "training rows")
        return "Cleaning on the training split: " + ", ".join(parts) + (f" (cells and charts {note})" if note else "") + "."


def preview_cleaning(dataset: Dataset, options: PrepOptions, max_rows: int | None = None) -> CleaningPreview:
    """Fit the preprocessor on the training split (a seeded sample of ``max_rows`` rows, default ``SAMPLE_ROWS``,
    when larger) and compare its numeric columns before and after."""
    split = split_dataset(dataset, options)
    X_train = sample_rows(split.X_train, max_rows)
    preprocessor = build_preprocessor(dataset, options)
    transformed = preprocessor.fit_transform(X_train, split.y_train.loc[X_train.index])   # target encoding learns from y
    names = list(preprocessor.get_feature_names_out())
    after = pd.DataFrame(np.asarray(transformed, dtype=float), columns=names, index=X_train.index)
    numeric = [c for c in dataset.numeric_features if c in after.columns]
    before = X_train[numeric].astype(float)
    clipped = 0
    if options.clip_outliers and numeric:
        clipper = preprocessor.named_transformers_["num"].named_steps["clip"]
        imputed = before.fillna(before.median()) if options.impute_numeric != "none" else before
        clipped = int(((imputed < clipper.lower_) | (imputed > clipper.upper_)).to_numpy().sum())
    order = sorted(numeric, key=lambda c: (-int(X_train[c].isna().sum()), -float(before[c].std() or 0.0)))
    before = before[order]
    stats = pd.concat({"before": before.agg(["mean", "std", "min", "max"]).T,
                       "after": after[order].agg(["mean", "std", "min", "max"]).T}, axis=1)
    return CleaningPreview(
        rows_before=len(dataset.frame),
        rows_after=len(dataset.frame) - split.dropped_duplicates,
        missing_before=int(X_train.isna().sum().sum()),
        missing_after=int(np.isnan(after.to_numpy()).sum()),
        clipped_cells=clipped, before=before, after=after[order], stats=stats, train_rows=len(split.X_train),
    )
