"""Where the model fails: slices of rows on which it is clearly worse than on the whole, with sizes and intervals.

Slices are each category of each categorical column, each numeric column cut at its quartiles (plus "empty"), and
intersections of two columns among the columns whose own slices look worst. Each slice carries its size, its error
(the share of rows misclassified, or the mean absolute error for regression) and a 95% interval on it (Wilson for a
share, a t interval for a mean). They are ranked by how surely they are worse: the lower end of an interval widened
for every slice examined (Bonferroni), minus the overall error. A slice with fewer than `MIN_ROWS` rows is marked too
small to tell and never ranked ahead of one that is not; an intersection is kept only when it is surely worse than
the rest of each of its halves (it adds something, rather than inheriting their weakness with a little luck;
Bonferroni over the intersections tried inside that half).
A shallow decision tree fitted on the errors (scikit-learn) names the worst regions in words.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError

MIN_ROWS = 30          # below this many rows a slice is "too small to tell"
MAX_SHOWN = 15
QUANTILE_BINS = 4
PAIR_COLUMNS = 6       # intersections among the columns whose single slices rank best
TREE_DEPTH = 3
Z95 = 1.959963984540054  # two-sided 95%


@dataclass(frozen=True)
class Slice:
    """A group of rows and how the model does on it."""

    description: str               # "contract = 'month-to-month' and tenure_months < 12"
    size: int
    error: float                   # share misclassified, or mean absolute error
    low: float                     # 95% interval on the error
    high: float
    overall: float
    surely_worse: bool             # worse than overall even after accounting for every slice examined
    too_small: bool
    score: float                   # lower end of the widened interval minus overall (the ranking key)
    source: str = "column"         # "column" | "two columns" | "tree"

    @property
    def ratio(self) -> float:
        return self.error / self.overall if self.overall else math.inf


@dataclass
class SliceReport:
    """The worst slices (at most MAX_SHOWN, surest first) and the error tree's worst regions."""

    task: str
    n_rows: int
    overall: float
    slices: list[Slice]
    tree: list[Slice]
    examined: int
    words: tuple[str, str] = ("row", "rows")
    notes: list[str] = field(default_factory=list)

    @property
    def error_name(self) -> str:
        return "misclassified" if self.task == "classification" else "mean absolute error"

    def fmt(self, value: float) -> str:
        return f"{value:.0%}" if self.task == "classification" else f"{value:,.3g}"

    def sentence(self, s: Slice) -> str:
        """'rows with contract = 'month-to-month' and tenure_months < 6: 41% of them are misclassified, against 12%
        overall; 83 rows.'"""
        many = self.words[1]
        if self.task == "classification":
            told = f"{self.fmt(s.error)} of them are misclassified, against {self.fmt(self.overall)} overall"
        else:
            told = f"off by {self.fmt(s.error)} on average, against {self.fmt(self.overall)} overall"
        caveat = " (too few rows to be sure)" if s.too_small else "" if s.surely_worse else " (could be chance)"
        return f"{many.capitalize()} with {s.description}: {told}; {s.size:,} {many}{caveat}."

    def headline(self) -> str:
        sure = [s for s in self.slices if s.surely_worse]
        said = f"misclassifies {self.fmt(self.overall)}" if self.task == "classification" else \
            f"is off by {self.fmt(self.overall)} on average"
        base = f"On the {self.n_rows:,} test {self.words[1]} the model {said} overall; {self.examined:,} slices examined."
        if not sure:
            return base + " No slice is surely worse than the whole: the errors are spread out."
        return f"{base} Surest weak spot: {self.sentence(sure[0])}"

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"slice": s.description, "rows": s.size, "error": s.error, "low": s.low, "high": s.high,
                              "× overall": s.ratio, "surely worse": s.surely_worse, "too small": s.too_small,
                              "from": s.source} for s in self.slices])


# ---------------------------------------------------------------- intervals
def _z(alpha: float) -> float:
    """One-sided: the only question is whether a slice is worse."""
    from scipy.stats import norm
    return float(norm.ppf(1 - alpha))


def _interval(errors: np.ndarray, classification: bool, z: float) -> tuple[float, float, float]:
    """(mean, low, high): Wilson for a share, mean ± z·sd/√n for a mean."""
    n = len(errors)
    mean = float(errors.mean())
    if classification:
        centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return mean, max(0.0, centre - half), min(1.0, centre + half)
    half = z * float(errors.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return mean, mean - half, mean + half


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.3g}"


# ---------------------------------------------------------------- candidate slices
def _conditions(X: pd.DataFrame, numeric: list[str], categorical: list[str]) -> dict[str, list[tuple[str, np.ndarray]]]:
    """column -> [(description, mask)] for its categories, or its quartile bins and its empty cells."""
    out = {}
    for column in categorical:
        values = X[column].astype(object).where(X[column].notna(), None)
        out[column] = [(f"{column} = '{v}'" if v is not None else f"{column} empty",
                        (values == v).to_numpy() if v is not None else values.isna().to_numpy())
                       for v in pd.unique(values)]
    for column in numeric:
        x = pd.to_numeric(X[column], errors="coerce").to_numpy(float)
        ok = np.isfinite(x)
        if not ok.any():
            continue
        edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]))
        parts = []
        for i in range(len(edges) + 1):
            lo, hi = (edges[i - 1] if i else -np.inf), (edges[i] if i < len(edges) else np.inf)
            mask = ok & (x >= lo) & (x < hi)
            inside = np.unique(x[mask])
            text = f"{column} = {_fmt(inside[0])}" if len(inside) == 1 else f"{column} < {_fmt(hi)}" if i == 0 \
                else f"{column} ≥ {_fmt(lo)}" if i == len(edges) else f"{_fmt(lo)} ≤ {column} < {_fmt(hi)}"
            parts.append((text, mask))
        if (~ok).any():
            parts.append((f"{column} empty", ~ok))
        out[column] = parts
    return out


def _make(description: str, errors: np.ndarray, overall: float, classification: bool, z_wide: float,
          source: str) -> Slice:
    mean, low, high = _interval(errors, classification, Z95)
    _m, wide_low, _h = _interval(errors, classification, z_wide)
    return Slice(description, len(errors), mean, low, high, overall, bool(wide_low > overall and len(errors) >= MIN_ROWS),
                 len(errors) < MIN_ROWS, wide_low - overall, source)


def _sharper(errors: np.ndarray, inner: np.ndarray, outer: np.ndarray, z: float) -> bool:
    """Whether the rows of `inner` (inside `outer`) are surely worse than the rest of `outer`: an intersection must
    add something to each of its halves, not just inherit their weakness with a little luck."""
    a, b = errors[inner], errors[outer & ~inner]
    if len(a) < 2 or len(b) < 2:
        return False
    spread = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return bool(a.mean() - b.mean() > z * spread) if spread > 0 else bool(a.mean() > b.mean())


def _rank(slices: list[Slice]) -> list[Slice]:
    return sorted(slices, key=lambda s: (s.too_small, -s.score))


# ---------------------------------------------------------------- the error tree
def _tree_regions(X: pd.DataFrame, errors: np.ndarray, numeric: list[str], categorical: list[str], overall: float,
                  classification: bool, z_wide: float, seed: int) -> list[Slice]:
    """The leaves of a shallow tree fitted on the errors that are worse than overall, described by their paths."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    frame = pd.DataFrame({c: pd.to_numeric(X[c], errors="coerce") for c in numeric}, index=X.index)
    dummies = pd.get_dummies(X[categorical].astype(object), prefix_sep="\x1f", dtype=float) if categorical else \
        pd.DataFrame(index=X.index)
    data = pd.concat([frame, dummies], axis=1)
    if data.shape[1] == 0:
        return []
    leaf = max(MIN_ROWS, len(X) // 50)
    model = (DecisionTreeClassifier if classification else DecisionTreeRegressor)(
        max_depth=TREE_DEPTH, min_samples_leaf=leaf, random_state=seed)
    values = data.to_numpy(float)
    model.fit(values, errors.astype(int) if classification else errors)
    tree, names, leaves = model.tree_, list(data.columns), model.apply(values)
    regions = []

    def walk(node: int, path: list[str]) -> None:
        if tree.children_left[node] == -1:
            mask = leaves == node
            if path and mask.sum():
                words = " and ".join(_merge(_pin_categories(path, X[mask], categorical)))
                regions.append(_make(words, errors[mask], overall, classification, z_wide, "tree"))
            return
        name, cut = names[tree.feature[node]], tree.threshold[node]
        if "\x1f" in name:
            column, value = name.split("\x1f", 1)
            walk(tree.children_left[node], path + [f"{column} ≠ '{value}'"])
            walk(tree.children_right[node], path + [f"{column} = '{value}'"])
        else:
            walk(tree.children_left[node], path + [f"{name} ≤ {_fmt(cut)}"])
            walk(tree.children_right[node], path + [f"{name} > {_fmt(cut)}"])

    walk(0, [])
    return _rank([r for r in regions if r.error > overall])[:3]


def _pin_categories(path: list[str], rows: pd.DataFrame, categorical: list[str]) -> list[str]:
    """"contract ≠ 'yearly'" becomes "contract = 'monthly'" when that is the only category left in the region."""
    out = []
    for cond in path:
        column = cond.split(" ≠ ", 1)[0]
        if " ≠ " in cond and column in categorical:
            left = rows[column].dropna().unique()
            if len(left) == 1 and rows[column].notna().all():
                cond = f"{column} = '{left[0]}'"
        out.append(cond)
    return out


def _merge(path: list[str]) -> list[str]:
    """Keep the tightest bound per column and side ('x ≤ 9 and x ≤ 4' -> 'x ≤ 4'); an '=' makes '≠'s redundant."""
    kept: dict[tuple[str, str], str] = {}
    for cond in path:
        for op in (" ≤ ", " > ", " = ", " ≠ "):
            if op in cond:
                column, value = cond.split(op, 1)
                break
        if op == " ≠ " and (column, " = ") in kept:
            continue
        if op == " = ":
            kept = {k: v for k, v in kept.items() if not (k[0] == column and k[1].startswith(" ≠ "))}
        key = (column, op) if op != " ≠ " else (column, op + value)
        previous = kept.get(key)
        if previous is not None and op in (" ≤ ", " > "):
            old = float(previous.split(op)[1].replace(",", ""))
            new = float(value.replace(",", ""))
            if (op == " ≤ " and old <= new) or (op == " > " and old >= new):
                continue
        kept[key] = cond
    return list(kept.values())


# ---------------------------------------------------------------- the finder
def row_errors(y_true, y_pred, task: str) -> np.ndarray:
    """1 for a misclassified row and 0 otherwise; the absolute error for regression."""
    if task == "classification":
        return (np.asarray(y_true).astype(str) != np.asarray(y_pred).astype(str)).astype(float)
    return np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))


def find_slices(X: pd.DataFrame, y_true, y_pred, task: str, numeric: list[str], categorical: list[str], *,
                words: tuple[str, str] = ("row", "rows"), max_shown: int = MAX_SHOWN, seed: int = 0) -> SliceReport:
    """Slices of the rows of X on which the model is worse than on the whole (see the module docstring)."""
    errors = row_errors(y_true, y_pred, task)
    if len(errors) != len(X):
        raise ModelDeckError(f"{len(X):,} rows but {len(errors):,} predictions: they must be the same rows.")
    if len(X) < 2 * MIN_ROWS:
        raise ModelDeckError(f"Only {len(X):,} test rows: finding weak spots needs at least {2 * MIN_ROWS}.")
    classification = task == "classification"
    overall = float(errors.mean())
    conditions = _conditions(X, numeric, categorical)
    singles = {col: [(text, mask) for text, mask in parts if mask.any()] for col, parts in conditions.items()}
    n_single = sum(len(p) for p in singles.values())
    pair_budget = math.comb(min(PAIR_COLUMNS, len(singles)), 2) * (QUANTILE_BINS + 1) ** 2
    examined = n_single + pair_budget
    z_wide = _z(0.05 / max(examined, 1))
    found: dict[str, Slice] = {}
    best_by_column: dict[str, float] = {}
    for col, parts in singles.items():
        for text, mask in parts:
            s = _make(text, errors[mask], overall, classification, z_wide, "column")
            found[text] = s
            best_by_column[col] = max(best_by_column.get(col, -np.inf), s.score if not s.too_small else -np.inf)
    top = sorted(best_by_column, key=best_by_column.get, reverse=True)[:PAIR_COLUMNS]
    inside = {c: sum(len(singles[o]) for o in top if o != c) for c in top}      # intersections within one half
    for a, b in itertools.combinations(top, 2):
        z_a, z_b = _z(0.05 / max(inside[a], 1)), _z(0.05 / max(inside[b], 1))
        for (ta, ma), (tb, mb) in itertools.product(singles[a], singles[b]):
            mask = ma & mb
            if mask.sum() < MIN_ROWS:
                continue
            if _sharper(errors, mask, ma, z_a) and _sharper(errors, mask, mb, z_b):
                s = _make(f"{ta} and {tb}", errors[mask], overall, classification, z_wide, "two columns")
                found[s.description] = s
    worse = _rank([s for s in found.values() if s.error > overall])[:max_shown]
    tree = _tree_regions(X, errors, numeric, categorical, overall, classification, z_wide, seed)
    notes = [f"Intervals are 95%; 'surely worse' also accounts for the {examined:,} slices examined, so a few "
             "lucky-looking slices are not taken for weak spots."]
    return SliceReport(task, len(X), overall, worse, tree, examined, words, notes)
