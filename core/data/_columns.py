"""Every column's fate, decided once and shown to the user: used as what, or left out because of what.

``column_plan(dataset, prep)`` reads each column's detected type and a few counts and applies the stated rules
below; the user can override any decision (``PrepOptions.column_uses``), and the cleaning pipeline, the Data
page's table and the command line's JSON all read the same plan.

The rules (``PrepOptions.categories == "auto"``):
- numbers are numeric inputs; identifiers (integers unique per row and consecutive or in file order, names,
  ticket or order codes where most values occur once), free text, constant and empty columns are left out;
- dates are left out with a note (turn them into year / month / day-of-week inputs when the season matters);
- a category with at most ``FEW_VALUES`` values gets one 0/1 column per value; with more, when the
  ``MAX_CATEGORIES`` commonest values cover at least ``COVERAGE`` of the filled rows they get a column each and
  the rarer ones share one ("frequent one-hot": ``OneHotEncoder(min_frequency, max_categories)``), otherwise each
  value becomes the average target of the training rows that have it, cross-fitted so a row never sees its own
  target (scikit-learn's ``TargetEncoder``).
Runs saved before these rules (``categories == "one_hot"``) one-hot every category, capped at 50 columns.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from core.common import ModelDeckError
from core.data._dataset import Dataset
from core.data._types import integer_identifier, near_unique

FEW_VALUES = 15
MAX_CATEGORIES = 20
COVERAGE = 0.8
MIN_FREQUENCY = 5

#: what a column can be used as, in words
USES = {
    "numeric": "number",
    "one_hot": "one-hot",
    "frequent_one_hot": f"one-hot, top {MAX_CATEGORIES} + other",
    "target_encode": "target-encoded",
    "ordinal": "ordinal codes",
    "date_parts": "year, month, weekday",
    "drop": "left out",
}
CATEGORY_USES = ("one_hot", "frequent_one_hot", "target_encode", "drop")
#: the uses a user may choose for a column of each detected type
ALLOWED = {
    "numeric": ("numeric", "one_hot", "drop"),
    "categorical": CATEGORY_USES,
    "identifier": ("drop", "numeric", "frequent_one_hot", "target_encode"),
    "text": ("drop", "frequent_one_hot", "target_encode"),
    "date": ("drop", "date_parts"),
    "constant": ("drop",),
    "empty": ("drop",),
}


@dataclass(frozen=True)
class ColumnFate:
    """One column's fate: its detected type, what the model uses it as (or "drop") and why, in plain words."""

    column: str
    kind: str
    use: str
    reason: str
    distinct: int
    missing_share: float
    overridden: bool = False

    @property
    def used(self) -> bool:
        return self.use != "drop"

    def to_dict(self) -> dict:
        return asdict(self) | {"used_as": USES[self.use]}


def _identifier_reason(series: pd.Series, kind: str) -> str:
    if pd.api.types.is_numeric_dtype(series) and (why := integer_identifier(series)):
        return f"an identifier: {why}"
    filled = series.dropna()
    if near_unique(filled):
        return (f"an identifier or code: {filled.nunique():,} distinct values in {len(filled):,} filled rows; most "
                "values occur once, so they say nothing about new rows")
    return "an identifier (its name says so, and nearly every value is different)"


def _category_rule(series: pd.Series) -> tuple[str, str]:
    """(use, reason) for a categorical column under the stated rule."""
    counts = series.dropna().astype(str).value_counts()
    distinct = len(counts)
    if distinct <= FEW_VALUES:
        return "one_hot", f"{distinct} values (at most {FEW_VALUES}): one 0/1 column each"
    covered = counts.iloc[:MAX_CATEGORIES].sum() / max(counts.sum(), 1)
    if covered >= COVERAGE:
        return "frequent_one_hot", (f"{distinct} values; the {MAX_CATEGORIES} commonest cover {covered:.0%} of rows "
                                    f"(at least {COVERAGE:.0%}): a column each, rarer values grouped as 'other'")
    return "target_encode", (f"{distinct} values; the {MAX_CATEGORIES} commonest cover only {covered:.0%} of rows "
                             f"(under {COVERAGE:.0%}): each value becomes the average target of the training rows "
                             "with it, cross-fitted")


def _auto_fate(series: pd.Series, kind: str, one_hot: bool, legacy: bool) -> tuple[str, str]:
    """(use, reason) decided by the rules for one column."""
    if kind == "numeric":
        return "numeric", "a number"
    if kind == "categorical":
        if not one_hot:
            return "ordinal", "categories as ordinal codes (one-hot encoding is off)"
        if legacy:
            return "one_hot", "one 0/1 column per value (at most 50)"
        return _category_rule(series)
    if kind == "identifier":
        return "drop", _identifier_reason(series, kind)
    if kind == "text":
        return "drop", "free text (sentences): not a category; ModelDeck does not read text"
    if kind == "date":
        return "drop", ("a date: left out, as dates rarely repeat in new data; use it as year / month / day of week "
                        "if the season or trend matters")
    if kind == "constant":
        return "drop", "the same value in every row: it cannot tell rows apart"
    return "drop", "empty: every value is missing"


def _checked_use(column: str, kind: str, use: str) -> str:
    allowed = ALLOWED.get(kind, ("drop",))
    if use not in allowed:
        names = ", ".join(f"'{u}'" for u in allowed)
        raise ModelDeckError(f"Column '{column}' is {kind}; it can be used as {names}, not '{use}'.")
    return use


def column_plan(dataset: Dataset, prep) -> list[ColumnFate]:
    """The fate of every column except the target, in frame order (rules above, then the user's overrides)."""
    # choices for columns this data set does not have (made on another data set) are ignored
    overrides = {c: u for c, u in (getattr(prep, "column_uses", {}) or {}).items() if c in dataset.column_types}
    legacy = getattr(prep, "categories", "auto") == "one_hot"
    plan = []
    for column in dataset.frame.columns:
        if column == dataset.target or column not in dataset.column_types:
            continue
        series, kind = dataset.frame[column], dataset.column_types[column]
        use, reason = _auto_fate(series, kind, getattr(prep, "one_hot", True), legacy)
        chosen = overrides.get(column)
        if chosen is not None and chosen != use:
            use, reason = _checked_use(column, kind, chosen), f"your choice (the rule said: {reason})"
        plan.append(ColumnFate(column, kind, use, reason, int(series.nunique()), float(series.isna().mean()),
                               chosen is not None and reason.startswith("your choice")))
    return plan


def plan_table(plan: list[ColumnFate]) -> pd.DataFrame:
    """The plan as one table: column, detected type, used as, distinct values, missing share, why."""
    return pd.DataFrame([{"column": f.column, "type": f.kind, "used as": USES[f.use], "distinct": f.distinct,
                          "missing": f.missing_share, "why": f.reason} for f in plan])


def inputs_of(plan: list[ColumnFate]) -> list[str]:
    """The columns the model reads, in frame order."""
    return [f.column for f in plan if f.used]


def left_out(plan: list[ColumnFate]) -> dict[str, str]:
    """Column -> why it is left out."""
    return {f.column: f.reason for f in plan if not f.used}
