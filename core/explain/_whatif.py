"""What-if and counterfactuals: edit a row and see the prediction move; find the smallest change that flips it.

Counterfactual search (our own, seeded): DiCE (`dice-ml` 0.12) installs beside our pins but pulls in
xgboost, lightgbm and a 350 MB NCCL wheel as hard dependencies, its genetic and k-d tree methods failed
on data with missing values (churn) and its random method changed 2-6 columns where one or two suffice.
The search here tries realistic values from the training data (quantiles, observed categories), fewest
changed columns first, then the smallest change, then pulls each changed number back toward the
original as far as the prediction stays flipped.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.explain._methods import single_threaded
from core.explain._narrate import fmt_value


# ---------------------------------------------------------------- what-if
def edit_row(row: pd.DataFrame, edits: dict, categorical: list[str], reference: pd.DataFrame) -> pd.DataFrame:
    """A copy of the one-row frame with edited values, validated: numbers for numeric columns, known
    categories for category columns, nothing empty."""
    edited = row.copy()
    for feature, value in edits.items():
        if feature not in edited.columns:
            raise ModelDeckError(f"'{feature}' is not a column the model uses.")
        if feature in categorical:
            if value is None or str(value).strip() == "" or str(value).lower() == "nan":
                raise ModelDeckError(f"{feature} is empty: pick one of its categories.")
            known = set(reference[feature].dropna().astype(str))
            if str(value) not in known:
                raise ModelDeckError(f"{feature} = '{value}' never appears in the training data; pick one of: "
                                     f"{', '.join(sorted(known)[:8])}.")
            edited[feature] = edited[feature].astype(object)
            edited.iloc[0, edited.columns.get_loc(feature)] = str(value)
            continue
        if value is None or (isinstance(value, str) and value.strip() == ""):
            raise ModelDeckError(f"{feature} is empty: type a number.")
        try:
            number = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise ModelDeckError(f"{feature} = '{value}' is not a number: type a number such as "
                                 f"{fmt_value(float(reference[feature].median()))}.") from None
        if not np.isfinite(number):
            raise ModelDeckError(f"{feature} must be a finite number, not {value}.")
        edited[feature] = edited[feature].astype(float)
        edited.iloc[0, edited.columns.get_loc(feature)] = number
    return edited


# ---------------------------------------------------------------- counterfactuals (own seeded search)
@dataclass
class Counterfactual:
    """The smallest change to a few allowed columns that flips the prediction (or None found)."""

    found: bool
    before: pd.DataFrame            # one row
    after: pd.DataFrame | None      # one row
    changed: list[str]
    before_label: str
    after_label: str | None
    before_p: float
    after_p: float | None
    allowed: list[str]
    evaluated: int
    seconds: float

    def table(self) -> pd.DataFrame:
        rows = []
        for f in self.allowed:
            after = self.after.iloc[0][f] if self.after is not None else None
            rows.append({"column": f, "before": fmt_value(self.before.iloc[0][f]),
                         "after": fmt_value(after) if after is not None else "—",
                         "changed": "yes" if f in self.changed else ""})
        return pd.DataFrame(rows)

    def sentence(self, words: tuple[str, str]) -> str:
        if not self.found:
            return (f"No change of up to 3 of the allowed columns ({', '.join(self.allowed)}) within realistic "
                    f"values flips the prediction for this {words[0]}: it stays '{self.before_label}'. "
                    "Allow more columns to change.")
        parts = [f"{f} been {fmt_value(self.after.iloc[0][f])} instead of {fmt_value(self.before.iloc[0][f])}"
                 for f in self.changed]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return (f"Had {listed}, the prediction would be '{self.after_label}' ({self.after_p:.0%}) "
                f"instead of '{self.before_label}' ({self.before_p:.0%}).")


def _candidates(column: pd.Series, categorical: bool, n: int = 19) -> np.ndarray:
    """Realistic values of a column from the training data: quantiles (numbers) or observed categories."""
    values = column.dropna()
    if categorical:
        return np.asarray(sorted(values.astype(str).unique()), dtype=object)
    numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    grid = np.unique(np.quantile(numbers, np.linspace(0.025, 0.975, n)))
    if np.all(numbers == np.round(numbers)):
        grid = np.unique(np.round(grid))
    return grid


def _scale(column: pd.Series) -> float:
    numbers = pd.to_numeric(column, errors="coerce").dropna()
    q1, q3 = numbers.quantile([0.25, 0.75])
    return float(q3 - q1) or float(numbers.std()) or 1.0


def counterfactual(pipeline, row: pd.DataFrame, allowed: list[str], X_train: pd.DataFrame, categorical: list[str],
                   seed: int = 0, max_changes: int = 3, budget: int = 20_000) -> Counterfactual:
    """See _search; the model runs on one OpenMP thread (many batches)."""
    with single_threaded(pipeline):
        return _search(pipeline, row, allowed, X_train, categorical, seed, max_changes, budget)


def _search(pipeline, row: pd.DataFrame, allowed: list[str], X_train: pd.DataFrame, categorical: list[str],
            seed: int, max_changes: int, budget: int) -> Counterfactual:
    """Seeded search over realistic values: fewest changed columns first, then the smallest change
    (distance in interquartile ranges; a category change counts 1), then each changed number is moved
    back toward its original value as far as the prediction stays flipped (a 64-step line search)."""
    start = time.perf_counter()
    if not hasattr(pipeline, "predict_proba"):
        raise ModelDeckError("Counterfactuals need a classifier with probabilities.")
    if not allowed:
        raise ModelDeckError("Pick at least one column the search may change.")
    classes = [str(c) for c in pipeline.classes_]
    p0 = pipeline.predict_proba(row)[0]
    label0 = classes[int(np.argmax(p0))]
    cands = {f: _candidates(X_train[f], f in categorical) for f in allowed}
    scales = {f: 1.0 if f in categorical else _scale(X_train[f]) for f in allowed}
    rng = np.random.default_rng(seed)
    evaluated = 0
    best = None
    for n_change in range(1, min(max_changes, len(allowed)) + 1):
        frames, costs = [], []
        for combo in itertools.combinations(allowed, n_change):
            grid = list(itertools.product(*(cands[f] for f in combo)))
            if len(grid) > budget // 10:
                grid = [grid[i] for i in rng.choice(len(grid), budget // 10, replace=False)]
            block = pd.concat([row] * len(grid), ignore_index=True)
            for j, f in enumerate(combo):
                block[f] = [g[j] for g in grid] if f in categorical else np.array([g[j] for g in grid], dtype=float)
            cost = np.zeros(len(grid))
            for j, f in enumerate(combo):
                orig = row.iloc[0][f]
                col = block[f]
                cost += (col.astype(str) != str(orig)).to_numpy(float) if f in categorical else \
                    _numeric_cost(col.to_numpy(float), orig, scales[f])
            frames.append(block)
            costs.append(cost)
        block = pd.concat(frames, ignore_index=True)
        cost = np.concatenate(costs)
        labels = np.asarray(classes)[np.argmax(pipeline.predict_proba(block), axis=1)]
        evaluated += len(block)
        flipped = np.flatnonzero((labels != label0) & (cost > 0))
        if len(flipped):
            best = block.iloc[[flipped[np.argmin(cost[flipped])]]].reset_index(drop=True)
            break
    if best is None:
        return Counterfactual(False, row, None, [], label0, None, float(p0.max()), None, allowed, evaluated,
                              time.perf_counter() - start)
    best.index = row.index
    best, extra = _pull_back(pipeline, row, best, label0, classes, categorical, X_train)
    evaluated += extra
    p1 = pipeline.predict_proba(best)[0]
    changed = [f for f in allowed if _differs(row.iloc[0][f], best.iloc[0][f], f in categorical)]
    return Counterfactual(True, row, best, changed, label0, classes[int(np.argmax(p1))], float(p0.max()),
                          float(p1.max()), allowed, evaluated, time.perf_counter() - start)


def _numeric_cost(values: np.ndarray, orig, scale: float) -> np.ndarray:
    """Distance in interquartile ranges; filling in a missing value counts like a category change (1)."""
    if pd.isna(orig):
        return np.ones(len(values))
    return np.abs(values - float(orig)) / scale


def _differs(a, b, categorical: bool) -> bool:
    if categorical:
        return str(a) != str(b)
    if pd.isna(a) or pd.isna(b):
        return pd.isna(a) != pd.isna(b)
    return not np.isclose(float(a), float(b))


def _pull_back(pipeline, row, best, label0, classes, categorical, X_train):
    """Move each changed number back toward the original while the prediction stays flipped."""
    evaluated = 0
    for f in best.columns:
        if f in categorical or pd.isna(row.iloc[0][f]) or not _differs(row.iloc[0][f], best.iloc[0][f], False):
            continue
        orig, far = float(row.iloc[0][f]), float(best.iloc[0][f])
        integer = bool(np.all(pd.to_numeric(X_train[f], errors="coerce").dropna() % 1 == 0))
        ts = np.linspace(0.0, 1.0, 2 ** 6 + 1)[1:]          # fractions of the way from the original
        trial = pd.concat([best] * len(ts), ignore_index=True)
        values = orig + ts * (far - orig)
        trial[f] = np.round(values) if integer else values
        labels = np.asarray(classes)[np.argmax(pipeline.predict_proba(trial), axis=1)]
        evaluated += len(trial)
        ok = np.flatnonzero(labels != label0)
        if len(ok):
            best = best.copy()
            best[f] = best[f].astype(float)
            best.iloc[0, best.columns.get_loc(f)] = float(trial[f].iloc[ok[0]])
    return best, evaluated
