"""Type inference for table columns: numbers hidden in text ('$1,200', '45%'), dates, identifiers
(by name, integers unique per row and sequential or in row order, near-unique text such as names and ticket
codes), free text, categories, constant and empty columns, and the task a target suggests.

``clean_types`` converts and types every column in one pass and explains each conversion in a note;
the helpers ``_try_numeric``, ``_is_textual`` and ``_examples`` are shared with target validation.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

_NUMERIC_SHARE = 0.95  # a text column this numeric becomes numeric
_DATE_SHARE = 0.90  # a text column this date-like becomes a date
_MAX_EXAMPLES = 3


_ID_NAME = re.compile(r"^(id|key|uuid|guid|index|unnamed_\d+)$|[_\s\-.](id|key|uuid)$|^id[_\s\-.]", re.IGNORECASE)


def _looks_like_id_name(name: object) -> bool:
    text = str(name).strip()
    return bool(_ID_NAME.search(text) or re.search(r"[a-z]ID$", text) or text.startswith("Unnamed:"))


def _is_textual(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_datetime64_any_dtype(series)
    )


def _examples(values: pd.Series) -> str:
    shown = [repr(str(v)) for v in pd.unique(values)[:_MAX_EXAMPLES]]
    return ", ".join(shown)


_CURRENCY = r"[$€£¥]"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def _undecorate(text: pd.Series) -> pd.Series:
    """'$1,200' -> '1200', '45%' -> '45': symbols people type around numbers (done once per distinct value)."""
    uniques = pd.Series(text.unique(), dtype=object)
    cleaned = uniques.str.strip().str.replace(rf"^([+-]?){_CURRENCY}\s?|\s?{_CURRENCY}$|\s?%$", r"\1", regex=True)
    cleaned = cleaned.where(~cleaned.str.match(_THOUSANDS), cleaned.str.replace(",", "", regex=False))
    return text.map(dict(zip(uniques, cleaned)))


def _decorated(text: pd.Series) -> bool:
    return bool(text.astype(str).str.contains(rf"{_CURRENCY}|%|\d,\d{{3}}", regex=True).any())


def _head(series: pd.Series, n: int = 2000) -> pd.Series:
    """A seeded sample of `n` values (numpy's Generator draws it without shuffling a million-row column)."""
    return series.sample(n, random_state=np.random.default_rng(0)) if len(series) > n else series


def _numeric_share(values: pd.Series) -> float:
    text = values.astype(str)
    plain = pd.to_numeric(text.str.strip(), errors="coerce").notna()
    return float((plain | pd.to_numeric(_undecorate(text), errors="coerce").notna()).mean())


def _try_numeric(series: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """(numbers, cells that were not numbers) when >= 95% of filled cells parse, else None."""
    filled = series.dropna()
    if filled.empty or _numeric_share(_head(filled)) < _NUMERIC_SHARE - 0.05:
        return None  # cheap rejection of text columns on a sample
    text = filled.astype(str)
    parsed = pd.to_numeric(text.str.strip(), errors="coerce")
    if parsed.notna().mean() < _NUMERIC_SHARE:
        parsed = pd.to_numeric(_undecorate(text), errors="coerce")
    if parsed.notna().mean() < _NUMERIC_SHARE:
        return None
    bad = filled[parsed.isna()]
    return parsed.reindex(series.index).astype(float), bad


def _try_dates(series: pd.Series) -> pd.Series | None:
    """Datetimes when >= 90% of filled cells parse as dates, else None."""
    filled = series.dropna().astype(str).str.strip()
    if len(filled) > 2000 and _try_dates(_head(filled)) is None:
        return None  # cheap rejection on a sample before looking at every cell
    # A date has a 4-digit year or three numbers (day, month, year); '1/2' and '10:30' are not dates.
    datelike = filled.str.contains(r"\d{4}") | (filled.str.count(r"\d+") >= 3)
    if filled.empty or datelike.mean() < _DATE_SHARE or not filled.str.contains(r"[-/.:\s]").mean() > 0.9:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt, dayfirst in (("ISO8601", False), (None, False), (None, True)):
            try:
                parsed = pd.to_datetime(filled, errors="coerce", format=fmt, dayfirst=dayfirst)
            except (ValueError, TypeError, OverflowError):
                continue
            if parsed.notna().mean() >= _DATE_SHARE:
                return parsed.reindex(series.index)
    return None


NEAR_UNIQUE = 0.5      # a text column with more distinct values than this share of its filled cells is a code
FREE_TEXT_WORDS = 5    # a text column whose values average this many words is free text


def integer_identifier(series: pd.Series) -> str | None:
    """Why an integer column is a row identifier ('unique for every row, numbered 1 to 891 in order'), or None.

    Every value must be a distinct integer, and they must count rows: consecutive (no more than 1% gaps) or
    increasing in file order. Measurements that happen to be unique (prices in cents) are neither."""
    filled = series.dropna()
    n = len(filled)
    if n <= 20 or not np.allclose(filled, np.round(filled)) or filled.nunique() != n:   # cheapest test first
        return None
    low, high = int(filled.min()), int(filled.max())
    if high - low + 1 <= 1.01 * n:
        return f"unique for every row and consecutive ({low:,} to {high:,}): a row number"
    if filled.is_monotonic_increasing:
        return f"unique for every row and increasing in file order ({low:,} to {high:,}): a running number"
    return None


def near_unique(series: pd.Series) -> bool:
    """More than half the filled cells hold a value of their own, and over 20 values (names, ticket codes)."""
    filled = series.dropna()
    distinct = filled.nunique()
    return distinct > 20 and distinct > NEAR_UNIQUE * len(filled)


def free_text(series: pd.Series) -> bool:
    """Values that read as sentences: on average at least FREE_TEXT_WORDS words."""
    filled = _head(series.dropna().astype(str))
    return len(filled) > 0 and float(filled.str.split().str.len().mean()) >= FREE_TEXT_WORDS


def _classify_numeric(name: object, series: pd.Series) -> str:
    if _looks_like_id_name(name) and (distinct := series.nunique(dropna=True)) >= 0.95 * series.notna().sum() \
            and distinct > 20:
        return "identifier"
    if not pd.api.types.is_bool_dtype(series) and integer_identifier(series) is not None:
        return "identifier"
    return "numeric"


def _classify_text(name: object, series: pd.Series) -> str:
    filled = series.dropna()
    distinct = filled.nunique()
    if free_text(filled) and distinct > 20:
        return "text"
    if near_unique(filled):
        return "identifier"
    if _looks_like_id_name(name) and distinct >= 0.95 * len(filled) and distinct > 1:
        return "identifier"
    return "categorical"


def _clean_column(name: object, series: pd.Series) -> tuple[pd.Series, str, list[str]]:
    """A column converted to its best dtype, its type name and notes on the conversion."""
    notes: list[str] = []
    if _is_textual(series):
        numeric = _try_numeric(series)
        if numeric is not None:
            if _decorated(series.dropna()):
                notes.append(
                    f"Column '{name}': currency symbols, % signs or thousands separators were removed to read numbers."
                )
            series, bad = numeric
            if len(bad):
                notes.append(
                    f"Column '{name}' is numeric; {len(bad):,} cell(s) that are not numbers "
                    f"({_examples(bad)}) were treated as missing."
                )
        elif (dates := _try_dates(series)) is not None:
            series = dates
    if series.isna().all():
        return series, "empty", notes
    if series.nunique(dropna=True) == 1:
        return series, "constant", notes
    if pd.api.types.is_bool_dtype(series):
        return series, "categorical", notes
    if pd.api.types.is_datetime64_any_dtype(series):
        return series, "date", notes
    if pd.api.types.is_numeric_dtype(series):
        return series, _classify_numeric(name, series), notes
    return series, _classify_text(name, series), notes


def clean_types(frame: pd.DataFrame, target: str | None = None) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Convert mostly-numeric text to numbers and date text to dates; type every non-target column.

    Returns (converted copy of frame, column -> type, notes about conversions).
    """
    cleaned = frame.copy()
    types: dict[str, str] = {}
    notes: list[str] = []
    for name in frame.columns:
        if name == target:
            continue
        series, kind, column_notes = _clean_column(name, frame[name])
        cleaned[name] = series
        types[name] = kind
        notes += column_notes
    return cleaned, types, notes


def detect_column_types(frame: pd.DataFrame, target: str | None = None) -> dict[str, str]:
    """Column -> "numeric" | "categorical" | "date" | "identifier" | "text" | "constant" | "empty"."""
    return clean_types(frame, target)[1]


def infer_task(series: pd.Series) -> str:
    """Regression for fractional numbers or many distinct numbers, classification otherwise."""
    values = series.dropna()
    if _is_textual(values) and (numeric := _try_numeric(values)) is not None:
        values = numeric[0].dropna()
    if values.empty or pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "classification"
    as_float = values.astype(float)
    if not np.allclose(as_float, np.round(as_float)):
        return "regression"
    distinct = values.nunique()
    return "regression" if distinct > 20 and distinct > 0.05 * len(values) else "classification"
