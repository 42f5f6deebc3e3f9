"""Checking new rows against what the model was trained on, with one plain message per problem.

`check_schema(frame, contract)` matches the uploaded columns to the model's (exactly, ignoring case and spaces, or a
renamed column recognised by its name and its values), reads each one as the model needs it (numbers written as
text, '$1,200', categories typed as numbers) and says, for every problem, what is wrong and what will be done:

- missing column: blocks (the model cannot run without it);
- renamed column: read under the model's name;
- extra column (and the target, if present): ignored by the model, kept in the download;
- wrong type: blocks when most cells are wrong, else the wrong cells count as missing;
- empty cells: filled in as in training, or the row gets no prediction when the model cannot fill them;
- unseen category: read as none of the known categories (the prediction leans on the other columns);
- numbers outside the training range: predicted, with a warning that the model extrapolates.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.predict._contract import Contract, category_text

WRONG_TYPE_SHARE = 0.5      # more than this share of filled cells not numbers: the column is the wrong one
NAME_SIMILARITY = 0.75      # difflib ratio between normalised names for a rename without value evidence
VALUE_OVERLAP = 0.8         # share of a text column's values that are known categories for a rename
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One thing that differs from the training columns, and what is done about it."""

    kind: str          # missing | renamed | extra | target | wrong_type | empty_cells | unseen | out_of_range
    column: str
    message: str
    blocking: bool = False
    rows: int = 0      # how many rows it touches (0: the whole column)

    @property
    def level(self) -> str:
        """'error' (predictions stop), 'warning' (predicted, read with care) or 'info' (handled)."""
        if self.blocking:
            return "error"
        return "warning" if self.kind in ("unseen", "out_of_range", "wrong_type") else "info"


@dataclass
class SchemaCheck:
    """The uploaded rows read as the model needs them, and every problem found on the way."""

    X: pd.DataFrame                 # the model's columns in its order and types (rows as uploaded)
    uploaded: pd.DataFrame          # the file as uploaded (original names), kept for the download
    problems: list[Problem]
    renamed: dict[str, str]         # uploaded name -> model name
    predictable: np.ndarray         # (n,) rows that can get a prediction
    row_notes: list[str] = field(default_factory=list)   # (n,) what to know about each row ("" when nothing)

    @property
    def ok(self) -> bool:
        return not any(p.blocking for p in self.problems)

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def unusable_columns(self) -> list[str]:
        """Model columns that are missing or unreadable (a blocking problem)."""
        return [p.column for p in self.problems if p.blocking]

    def blocking_messages(self) -> list[str]:
        """One message per blocking problem; three or more missing columns are named together in one."""
        blocking = [p for p in self.problems if p.blocking]
        missing = [p.column for p in blocking if p.kind == "missing"]
        if len(missing) < 3:
            return [p.message for p in blocking]
        text = (f"{len(missing)} columns the model needs are missing: {', '.join(repr(c) for c in missing)}. Add them "
                "to the file (or rename the columns that hold them) and upload again.")
        return [text] + [p.message for p in blocking if p.kind != "missing"]

    def blocking_message(self) -> str:
        return " ".join(self.blocking_messages())

    def raise_if_blocked(self) -> None:
        if not self.ok:
            raise ModelDeckError(self.blocking_message())

    def summary(self) -> str:
        """One sentence on the whole check."""
        n, skipped = self.n_rows, int((~self.predictable).sum())
        if not self.ok:
            blocking = sum(p.blocking for p in self.problems)
            return (f"{blocking} problem{'s' if blocking > 1 else ''} must be fixed before the {n:,} rows can be "
                    "predicted.")
        warnings = sum(p.level == "warning" for p in self.problems)
        text = f"All {n:,} rows match the model's columns" if not self.problems else \
            f"The {n:,} rows can be predicted"
        if skipped:
            text += f"; {skipped:,} of them cannot (see below)"
        if warnings:
            text += f"; {warnings} thing{'s' if warnings > 1 else ''} to read with care"
        return text + "."


# ---------------------------------------------------------------- matching columns
def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(name).casefold())


def _examples(values) -> str:
    shown = [f"'{v}'" for v in list(dict.fromkeys(str(v) for v in values))[:MAX_EXAMPLES]]
    return ", ".join(shown)


def _numbers(series: pd.Series) -> pd.Series:
    """The cells as numbers (NaN where a cell is not one): plain numbers, or text like '1,200', '$45', '12%'."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float).where(np.isfinite(series.astype(float)))
    text = series.astype("string").str.strip()
    plain = pd.to_numeric(text, errors="coerce")
    undecorated = pd.to_numeric(text.str.replace(r"^([+-]?)[$€£¥]\s?|\s?[$€£¥%]$", r"\1", regex=True)
                                .str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True), errors="coerce")
    parsed = plain.fillna(undecorated).astype(float)
    return parsed.where(np.isfinite(parsed))


def _blank(series: pd.Series) -> pd.Series:
    """True where a cell is empty (missing, or only spaces)."""
    return series.isna() | (series.astype("string").str.strip() == "").fillna(True).astype(bool)


def _name_likeness(got: str, want: str) -> float:
    """0..1: difflib's ratio of the normalised names; a name inside the other ('tenure' in 'tenure_months') counts
    as close when the shorter has at least 4 characters."""
    a, b = _norm(got), _norm(want)
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    inside = min(len(a), len(b)) >= 4 and (a in b or b in a)
    return max(ratio, NAME_SIMILARITY) if inside else ratio


def _fits(series: pd.Series, column: str, contract: Contract) -> float:
    """How well an uploaded column's values fit a model column (0..1): number share, or known-category share."""
    filled = series.dropna()
    if filled.empty:
        return 0.5
    if column in contract.numeric:
        return float(_numbers(filled).notna().mean())
    known = set(contract.categories.get(column, []))
    return float(filled.map(category_text).isin(known).mean())


def _match_columns(columns: list[str], contract: Contract, frame: pd.DataFrame) -> tuple[dict, list[Problem]]:
    """uploaded name -> model name for every column that can be matched, and the 'renamed' problems."""
    expected = list(contract.features)
    mapping = {c: c for c in columns if c in expected}
    problems = []
    by_norm = {_norm(c): c for c in columns if c not in mapping}
    for want in [w for w in expected if w not in mapping.values()]:
        got = by_norm.get(_norm(want))
        if got is not None and got not in mapping:
            mapping[got] = want
            problems.append(Problem("renamed", want, f"Column '{got}' is read as '{want}' (same name, written "
                                                     "differently)."))
    for want in [w for w in expected if w not in mapping.values()]:
        best, best_score = None, 0.0
        for got in [c for c in columns if c not in mapping and c != contract.target]:
            name = _name_likeness(got, want)
            fit = _fits(frame[got], want, contract)
            by_values = want in contract.categorical and fit >= VALUE_OVERLAP
            if (name >= NAME_SIMILARITY and fit >= 0.5) or by_values:
                score = name + fit
                if score > best_score:
                    best, best_score = got, score
        if best is not None:
            mapping[best] = want
            why = "its name and values" if want in contract.categorical else "its name and numbers"
            problems.append(Problem("renamed", want, f"Column '{best}' is not a name the model knows; from {why} it "
                                                     f"looks like '{want}', so it is read as '{want}'. Rename it in "
                                                     "the file if that is wrong."))
    return mapping, problems


# ---------------------------------------------------------------- reading columns
def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


def _numeric_column(name: str, raw: pd.Series, contract: Contract, notes: list[list[str]],
                    predictable: np.ndarray) -> tuple[pd.Series, list[Problem]]:
    values = _numbers(raw)
    filled = ~_blank(raw)
    bad = filled & values.isna()
    problems = []
    if bad.sum() > WRONG_TYPE_SHARE * max(filled.sum(), 1):
        return values, [Problem("wrong_type", name, f"Column '{name}' should hold numbers, but {bad.sum():,} of its "
                                                    f"{filled.sum():,} filled cells are not numbers (e.g. "
                                                    f"{_examples(raw[bad])}). Put numbers in this column, or check "
                                                    "that it is the right column, and upload again.", True)]
    if bad.any():
        problems.append(Problem("wrong_type", name, f"{bad.sum():,} cell(s) of '{name}' are not numbers "
                                                    f"({_examples(raw[bad])}); they are treated as empty.",
                                rows=int(bad.sum())))
    empty = values.isna()
    if empty.any():
        if name in contract.fills:
            fill = f"with {_fmt(contract.fills[name])} (the training {contract.fill_rule}), as in training"
            problems.append(Problem("empty_cells", name, f"{empty.sum():,} empty cell(s) in '{name}' are filled "
                                                         f"{fill}.", rows=int(empty.sum())))
        elif contract.fills_numbers:
            problems.append(Problem("empty_cells", name, f"{empty.sum():,} empty cell(s) in '{name}': the model "
                                                         "handles missing values the way it learned in training.",
                                    rows=int(empty.sum())))
        else:
            predictable &= ~empty.to_numpy()
            problems.append(Problem("empty_cells", name, f"{empty.sum():,} row(s) have no '{name}' and this model "
                                                         "cannot fill it in: they get no prediction. Fill the cells "
                                                         "to predict them.", rows=int(empty.sum())))
            for i in np.flatnonzero(empty.to_numpy()):
                notes[i].append(f"no prediction: '{name}' is empty")
    low, high = contract.ranges[name]
    above, below = (values > high).to_numpy(), (values < low).to_numpy()
    if above.any() or below.any():
        parts = [f"{above.sum():,} above the highest value seen in training ({_fmt(high)})" if above.any() else "",
                 f"{below.sum():,} below the lowest ({_fmt(low)})" if below.any() else ""]
        problems.append(Problem("out_of_range", name, f"'{name}': {' and '.join(p for p in parts if p)}. The model "
                                                      "has not seen such values, so those predictions extrapolate; "
                                                      "read them with care.", rows=int(above.sum() + below.sum())))
        for i in np.flatnonzero(above | below):
            notes[i].append(f"'{name}' outside the training range")
    return values, problems


def _categorical_column(name: str, raw: pd.Series, contract: Contract,
                        notes: list[list[str]]) -> tuple[pd.Series, list[Problem]]:
    known = contract.categories.get(name, [])
    by_form = {re.sub(r"\s+", " ", k.strip().casefold()): k for k in known}
    text = raw.map(category_text)
    text = text.where(~_blank(text), np.nan)
    recased = text.map(lambda v: v if not isinstance(v, str) or v in known else
                       by_form.get(re.sub(r"\s+", " ", v.strip().casefold()), v))
    problems = []
    changed = text.notna() & (recased != text)
    if changed.any():
        problems.append(Problem("renamed", name, f"{changed.sum():,} value(s) of '{name}' differ from the training "
                                                 f"categories only in case or spaces ({_examples(text[changed])}); "
                                                 "they are read as the known categories.", rows=int(changed.sum())))
    unseen = recased.notna() & ~recased.isin(known)
    filled = int(recased.notna().sum())
    if unseen.any() and unseen.sum() == filled and filled >= 5:
        return recased, [Problem("wrong_type", name, f"None of the values of '{name}' are categories the model "
                                                     f"knows (it got {_examples(recased[unseen])}; it knows "
                                                     f"{_examples(known)}…). Check that this is the right column "
                                                     "and upload again.", True)]
    if unseen.any():
        counts = recased[unseen].value_counts()
        listed = ", ".join(f"'{v}' ({n:,} row{'s' if n > 1 else ''})" for v, n in counts.iloc[:MAX_EXAMPLES].items())
        problems.append(Problem("unseen", name, f"'{name}' has value(s) the model never saw in training: {listed}"
                                                f"{' and more' if len(counts) > MAX_EXAMPLES else ''}. Those rows are "
                                                "read as none of the known categories, so their predictions lean on "
                                                "the other columns; read them with care.", rows=int(unseen.sum())))
        for i in np.flatnonzero(unseen.to_numpy()):
            notes[i].append(f"'{name}' = '{recased.iloc[i]}' never seen in training")
    empty = recased.isna()
    if empty.any():
        fill = f"filled with '{contract.fills[name]}' (the most common in training)" if name in contract.fills \
            else "read as none of the known categories"
        problems.append(Problem("empty_cells", name, f"{empty.sum():,} empty cell(s) in '{name}' are {fill}.",
                                rows=int(empty.sum())))
    return recased.astype(object), problems


def _date_column(name: str, raw: pd.Series) -> tuple[pd.Series, list[Problem]]:
    """Dates as the model reads them (it uses their parts); cells that are not dates count as empty."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = pd.to_datetime(raw, errors="coerce", format="mixed")
    filled = ~_blank(raw)
    bad = filled & values.isna()
    if bad.sum() > WRONG_TYPE_SHARE * max(filled.sum(), 1):
        return values, [Problem("wrong_type", name, f"Column '{name}' should hold dates, but {bad.sum():,} of its "
                                                    f"{filled.sum():,} filled cells are not dates (e.g. "
                                                    f"{_examples(raw[bad])}). Fix the column and upload again.", True)]
    problems = []
    if bad.any():
        problems.append(Problem("wrong_type", name, f"{bad.sum():,} cell(s) of '{name}' are not dates "
                                                    f"({_examples(raw[bad])}); they are treated as empty.",
                                rows=int(bad.sum())))
    return values, problems


# ---------------------------------------------------------------- the check
def check_schema(frame: pd.DataFrame, contract: Contract) -> SchemaCheck:
    """Match and read the uploaded rows against the model's columns; see the module docstring for each problem."""
    if frame is None or len(frame) == 0:
        raise ModelDeckError("The file has no data rows. Upload a CSV with a header row and at least one row of "
                             f"values in the model's columns: {', '.join(contract.features)}.")
    frame = frame.rename(columns=lambda c: str(c).strip()).reset_index(drop=True)
    columns = list(frame.columns)
    mapping, problems = _match_columns(columns, contract, frame)
    for c in columns:
        if c in mapping:
            continue
        if _norm(c) == _norm(contract.target):
            problems.append(Problem("target", c, f"Column '{c}' is what the model predicts; it is ignored for the "
                                                 "prediction and kept in the download for comparison."))
        else:
            problems.append(Problem("extra", c, f"Column '{c}' is not used by the model; it is ignored for the "
                                                "prediction and kept in the download."))
    missing = [w for w in contract.features if w not in mapping.values()]
    for want in missing:
        kind = "numbers" if want in contract.numeric else "dates" if want in contract.dates else \
            "categories such as " + _examples(contract.categories.get(want, []))
        problems.append(Problem("missing", want, f"Column '{want}' is missing ({kind}). The model needs it: add it "
                                                 "to the file (or rename the column that holds it) and upload again.",
                                True))
    n = len(frame)
    notes: list[list[str]] = [[] for _ in range(n)]
    predictable = np.ones(n, dtype=bool)
    X = pd.DataFrame(index=frame.index)
    inverse = {want: got for got, want in mapping.items()}
    for want in contract.features:
        if want not in inverse:
            X[want] = np.nan
            continue
        raw = frame[inverse[want]]
        if want in contract.numeric:
            X[want], found = _numeric_column(want, raw, contract, notes, predictable)
        elif want in contract.dates:
            X[want], found = _date_column(want, raw)
        else:
            X[want], found = _categorical_column(want, raw, contract, notes)
        problems += found
    order = {"missing": 0, "wrong_type": 1, "unseen": 2, "out_of_range": 3, "empty_cells": 4, "renamed": 5,
             "target": 6, "extra": 7}
    problems.sort(key=lambda p: (not p.blocking, order.get(p.kind, 9)))
    renamed = {got: want for got, want in mapping.items() if got != want}
    return SchemaCheck(X[contract.features], frame, problems, renamed, predictable, ["; ".join(n) for n in notes])
