"""Drift that does not cry wolf: do the new rows still look like the rows the model learned from?

Per column, two numbers with the sample sizes behind them:
- the population stability index (PSI) over the training rows' deciles (categories for categorical columns; a
  missing-value bin in both), an effect size that does not grow with the number of rows. On few rows a PSI is
  inflated by chance alone (its expected value without any drift is about (bins - 1) x (1/n_training + 1/n_new):
  0.25 for 40 new rows in 10 bins), so that part is subtracted; `psi_raw` keeps the uncorrected value;
- a test from scipy: two-sample Kolmogorov–Smirnov for numbers (plus a chi-square test on the share of empty
  cells when either side has some), chi-square on the category counts for categories.

A column is flagged only when both say so: its p-value, corrected for testing every column (Holm), is below
`ALPHA`, and its corrected PSI is at least `MIN_PSI` (the usual rule of thumb: under 0.1 no real change, 0.1–0.25 moderate,
over 0.25 major). On millions of rows nearly every test is "significant" for differences too small to matter; the
PSI gate stops those. On a few hundred rows a PSI can look large by chance; the corrected test stops those.
`python -m benchmarks drift` measures both: false alarms on data without drift and planted shifts caught.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError

ALPHA = 0.05
MIN_PSI = 0.1
MAJOR_PSI = 0.25
BINS = 10
MIN_EXPECTED = 5          # chi-square: categories expected fewer times than this are pooled
_SMOOTH = 0.5             # added to every bin count so an empty bin does not make the PSI infinite


@dataclass(frozen=True)
class ColumnDrift:
    """How one column moved between the training rows and the new rows."""

    column: str
    kind: str                 # "numeric" | "categorical"
    n_reference: int
    n_new: int
    psi: float                # corrected for sample size (see the module docstring)
    test: str                 # "Kolmogorov–Smirnov" | "chi-square"
    statistic: float
    p_value: float
    p_adjusted: float = 1.0   # Holm-corrected over every column checked
    flagged: bool = False
    change: str = ""          # "up 18% (median 70.3 → 83.0)"
    outside: float = 0.0      # share of new rows beyond the training range / with categories never seen
    advice: str = ""
    psi_raw: float = 0.0

    @property
    def detectable(self) -> bool:
        return self.p_adjusted < ALPHA

    @property
    def size_words(self) -> str:
        return "major" if self.psi >= MAJOR_PSI else "moderate" if self.psi >= MIN_PSI else "small"


@dataclass
class DriftReport:
    """Every column checked, the most moved first."""

    columns: list[ColumnDrift]
    n_reference: int
    n_new: int
    alpha: float = ALPHA
    min_psi: float = MIN_PSI
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.flagged]

    def column(self, name: str) -> ColumnDrift:
        return next(c for c in self.columns if c.column == name)

    def headline(self) -> str:
        sizes = f"{self.n_new:,} new rows against {self.n_reference:,} training rows, {len(self.columns)} columns"
        flagged = self.flagged
        if not flagged:
            small = [c for c in self.columns if c.detectable and not c.flagged]
            text = f"No column moved enough to matter ({sizes})."
            if small:
                text += (f" {len(small)} differ{'s' if len(small) == 1 else ''} measurably but slightly (PSI under "
                         f"{self.min_psi}, e.g. '{small[0].column}' {small[0].psi:.3f}): not worth acting on.")
            return text
        names = ", ".join(f"'{c.column}'" for c in flagged[:4]) + (" and more" if len(flagged) > 4 else "")
        return (f"{len(flagged)} of {len(self.columns)} columns moved: {names} ({sizes}). The model may be less "
                "accurate on these rows than its test score says.")

    def advice(self) -> list[str]:
        return [c.advice for c in self.flagged]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{**asdict(c), "moved": "yes" if c.flagged else "", "size": c.size_words}
                             for c in self.columns])


# ---------------------------------------------------------------- per column
def _proportions(ref_counts: np.ndarray, new_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = (ref_counts + _SMOOTH) / (ref_counts.sum() + _SMOOTH * len(ref_counts))
    q = (new_counts + _SMOOTH) / (new_counts.sum() + _SMOOTH * len(new_counts))
    return p, q


def psi(ref_counts: np.ndarray, new_counts: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins: sum (q - p) ln(q / p) (bins empty on both
    sides left out)."""
    ref_counts, new_counts = np.asarray(ref_counts, float), np.asarray(new_counts, float)
    used = (ref_counts + new_counts) > 0
    p, q = _proportions(ref_counts[used], new_counts[used])
    return float(np.sum((q - p) * np.log(q / p)))


def psi_chance(ref_counts: np.ndarray, new_counts: np.ndarray) -> float:
    """What the PSI is expected to be with no drift at all, from sampling alone: (bins - 1)(1/n_ref + 1/n_new).

    (PSI ≈ sum (q - p)^2 / p for small differences, and each bin's share varies by p(1 - p)/n on each side.)"""
    ref_counts, new_counts = np.asarray(ref_counts, float), np.asarray(new_counts, float)
    bins = int(np.count_nonzero(ref_counts))
    return max(bins - 1, 0) * (1.0 / max(ref_counts.sum(), 1.0) + 1.0 / max(new_counts.sum(), 1.0))


def _psi_pair(ref_counts: np.ndarray, new_counts: np.ndarray) -> tuple[float, float]:
    """(PSI corrected for sample size, raw PSI)."""
    raw = psi(ref_counts, new_counts)
    return float(max(0.0, raw - psi_chance(ref_counts, new_counts))), raw


def _chi_square(ref_counts: np.ndarray, new_counts: np.ndarray) -> tuple[float, float]:
    """(statistic, p) of a chi-square test of homogeneity; rare bins pooled so every expected count is >= 5."""
    from scipy.stats import chi2_contingency
    table = np.vstack([ref_counts, new_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    expected_min = table.sum(axis=0) * min(table.sum(axis=1)) / table.sum()
    rare = expected_min < MIN_EXPECTED
    if rare.any():
        table = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
        table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.3g}"


def _numeric(name: str, ref: pd.Series, new: pd.Series) -> ColumnDrift:
    from scipy.stats import ks_2samp
    r = pd.to_numeric(ref, errors="coerce").to_numpy(float)
    x = pd.to_numeric(new, errors="coerce").to_numpy(float)
    r_ok, x_ok = r[np.isfinite(r)], x[np.isfinite(x)]
    if not len(r_ok):
        raise ModelDeckError(f"The training rows have no numbers in '{name}'; drift cannot be measured there.")
    edges = np.unique(np.quantile(r_ok, np.linspace(0, 1, BINS + 1)[1:-1]))
    bins = lambda v: np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)  # noqa: E731
    ref_counts = np.append(bins(r_ok), len(r) - len(r_ok))
    new_counts = np.append(bins(x_ok), len(x) - len(x_ok))
    if len(x_ok):
        with warnings.catch_warnings():     # "exact calculation unsuccessful, switching to asymp": that is fine
            warnings.simplefilter("ignore", RuntimeWarning)
            ks = ks_2samp(r_ok, x_ok)
        statistic, p = float(ks.statistic), float(ks.pvalue)
    else:
        statistic, p = 1.0, 1.0
    if ref_counts[-1] or new_counts[-1]:       # the share of empty cells moved? (Bonferroni over the two tests)
        _stat, p_empty = _chi_square(ref_counts[[-1]].tolist() + [len(r_ok)], new_counts[[-1]].tolist() + [len(x_ok)])
        p = min(1.0, 2 * min(p, p_empty))
    change, outside = "", 0.0
    if len(x_ok):
        before, after = float(np.median(r_ok)), float(np.median(x_ok))
        if before != after:
            rel = f" by {abs(after - before) / abs(before):.0%}" if before else ""
            change = f"{'up' if after > before else 'down'}{rel} (median {_fmt(before)} → {_fmt(after)})"
        else:
            change = f"median unchanged ({_fmt(before)}), mean {_fmt(np.mean(r_ok))} → {_fmt(np.mean(x_ok))}"
        outside = float(np.mean((x_ok > r_ok.max()) | (x_ok < r_ok.min())))
    corrected, raw = _psi_pair(ref_counts, new_counts)
    return ColumnDrift(name, "numeric", len(r), len(x), corrected, "Kolmogorov–Smirnov", statistic, p, change=change,
                       outside=outside, psi_raw=raw)


def _counts(series: pd.Series) -> pd.Series:
    """Rows per category, as text, with empty cells counted as '(empty)' (hashing once: fast on millions of rows)."""
    counts = series.value_counts(dropna=False)
    counts.index = ["(empty)" if pd.isna(v) else str(v) for v in counts.index]
    return counts.groupby(level=0).sum()


def _categorical(name: str, ref: pd.Series, new: pd.Series) -> ColumnDrift:
    ref_vc, new_vc = _counts(ref), _counts(new)
    known = list(ref_vc.sort_values(ascending=False).index)
    ref_counts = ref_vc.reindex(known).to_numpy(float)
    unseen = float(new_vc[~new_vc.index.isin(known)].sum())
    new_counts = new_vc.reindex(known, fill_value=0).to_numpy(float)
    ref_counts, new_counts = np.append(ref_counts, 0.0), np.append(new_counts, unseen)
    statistic, p = _chi_square(ref_counts, new_counts)
    p_ref, p_new = ref_counts / max(ref_counts.sum(), 1), new_counts / max(new_counts.sum(), 1)
    labels = known + ["(never seen in training)"]
    smooth_ref, smooth_new = _proportions(ref_counts, new_counts)
    part = np.where(ref_counts + new_counts > 0, (smooth_new - smooth_ref) * np.log(smooth_new / smooth_ref), -1.0)
    j = int(np.argmax(part))                                                       # the largest part of the PSI
    change = f"'{labels[j]}' {p_ref[j]:.0%} → {p_new[j]:.0%} of rows"
    corrected, raw = _psi_pair(ref_counts, new_counts)
    return ColumnDrift(name, "categorical", len(ref), len(new), corrected, "chi-square", statistic, p, change=change,
                       outside=unseen / max(len(new), 1), psi_raw=raw)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (controls the chance of any false alarm across the columns)."""
    m = len(p_values)
    order = np.argsort(p_values)
    adjusted, running = np.empty(m), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted.tolist()


def _advice(c: ColumnDrift, ref: pd.Series) -> str:
    if c.kind == "numeric":
        text = f"'{c.column}' moved {c.change}"
        if c.outside > 0:
            values = pd.to_numeric(ref, errors="coerce")
            text += (f"; {c.outside:.0%} of the new rows are outside anything the model has seen "
                     f"({_fmt(values.min())} to {_fmt(values.max())}): retrain with recent data.")
        else:
            text += ": find out why, and retrain with recent data if the change is real."
        return text
    text = f"'{c.column}' changed mix: {c.change}"
    if c.outside > 0:
        return text + f"; {c.outside:.0%} of the new rows have categories the model never saw: retrain with recent data."
    return text + ": check the model's accuracy on rows like these, and retrain with recent data if it dropped."


def drift_report(reference: pd.DataFrame, new: pd.DataFrame, numeric: list[str], categorical: list[str],
                 alpha: float = ALPHA, min_psi: float = MIN_PSI) -> DriftReport:
    """Compare the new rows with the reference (training) rows, column by column; the most moved first."""
    if len(new) == 0:
        raise ModelDeckError("There are no new rows to compare with the training rows.")
    if len(reference) < 2:
        raise ModelDeckError("Drift needs the training rows to compare with; this run has fewer than 2.")
    columns = [c for c in [*numeric, *categorical] if c in new.columns]
    found = [_numeric(c, reference[c], new[c]) if c in numeric else _categorical(c, reference[c], new[c])
             for c in columns]
    adjusted = holm([c.p_value for c in found]) if found else []
    result = []
    for c, p_adj in zip(found, adjusted):
        flagged = p_adj < alpha and c.psi >= min_psi
        c = ColumnDrift(**{**asdict(c), "p_adjusted": p_adj, "flagged": flagged})
        result.append(ColumnDrift(**{**asdict(c), "advice": _advice(c, reference[c.column]) if flagged else ""}))
    result.sort(key=lambda c: (not c.flagged, -c.psi))
    notes = []
    if len(new) < 100:
        notes.append(f"Only {len(new):,} new rows: only large moves can be told from chance.")
    return DriftReport(result, len(reference), len(new), alpha, min_psi, notes)


# ---------------------------------------------------------------- the last check, kept with the run (model card)
DRIFT_FILE = "drift.json"


def save_drift_check(folder, report: DriftReport, source: str = "") -> dict:
    """Record a drift check in a run's folder (the model card quotes the latest one); returns what was written."""
    import json
    from datetime import datetime, timezone
    from pathlib import Path

    from core.common import atomic_write
    record = {"checked_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "source": source,
              "n_new": report.n_new, "n_reference": report.n_reference, "headline": report.headline(),
              "moved": [c.column for c in report.flagged], "advice": report.advice()}
    atomic_write(Path(folder) / DRIFT_FILE, json.dumps(record, indent=1))
    return record


def load_drift_check(folder) -> dict | None:
    """The latest recorded drift check of a run, or None."""
    import json
    from pathlib import Path
    path = Path(folder) / DRIFT_FILE
    return json.loads(path.read_text()) if path.exists() else None
