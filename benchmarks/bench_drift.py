"""Drift that does not cry wolf, measured: false alarms without drift, and planted shifts caught, at 1,000 to
1,000,000 rows.

Seeded generated tables (numbers: normal, skewed with 3% empty cells, counts, whole numbers; categories: a 4-level
plan and a 5-level region), reference and new rows of the same size drawn independently. Scenarios:
- no drift: both sides from the same distribution;
- tiny shift: 'income' moves by 0.02 standard deviations (real but too small to matter);
- planted shift: 'income' moves by 0.5 standard deviations (PSI about 0.25);
- planted mix change: the share of plan 'basic' goes from 40% to 60% (PSI about 0.16).
'Alarm' = at least one column flagged; 'caught' = the shifted column flagged. Baseline measured alongside: a
naive check that flags any column with p < 0.05 (no correction for testing several columns, no effect size).
Targets: our false-alarm rate <= 5% at every size (no drift and tiny shift), planted shifts caught >= 90%.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import pandas as pd

SIZES = (1_000, 10_000, 100_000, 1_000_000)
REPEATS = {1_000: 200, 10_000: 200, 100_000: 60, 1_000_000: 20}
NUMERIC = ["income", "spend", "visits", "age"]
CATEGORICAL = ["plan", "region"]
PLANS, PLAN_SHARES = np.array(["basic", "plus", "pro", "team"]), np.array([0.4, 0.3, 0.2, 0.1])
REGIONS = np.array(["north", "south", "east", "west", "centre"])


def make_rows(n: int, rng: np.random.Generator, income_shift: float = 0.0, basic_share: float = 0.4) -> pd.DataFrame:
    """n seeded rows; `income_shift` in standard deviations, `basic_share` the share of plan 'basic'."""
    spend = rng.exponential(20.0, n)
    spend[rng.random(n) < 0.03] = np.nan
    rest = PLAN_SHARES[1:] / PLAN_SHARES[1:].sum() * (1 - basic_share)
    return pd.DataFrame({
        "income": rng.normal(50.0 + 10.0 * income_shift, 10.0, n),
        "spend": spend,
        "visits": rng.poisson(1.3, n).astype(float),
        "age": rng.integers(18, 86, n).astype(float),
        "plan": pd.Categorical.from_codes(rng.choice(4, n, p=np.r_[basic_share, rest]), PLANS),
        "region": pd.Categorical.from_codes(rng.integers(0, 5, n), REGIONS),
    })


SCENARIOS = {   # name -> (new-row settings, the column that moved or None, what counts as success)
    "no drift": ({}, None),
    "tiny shift: income +0.02 sd": ({"income_shift": 0.02}, None),
    "planted: income +0.5 sd": ({"income_shift": 0.5}, "income"),
    "planted: plan 'basic' 40% -> 60%": ({"basic_share": 0.6}, "plan"),
}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a rate k / n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (
        1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def one_scenario(n: int, repeats: int, settings: dict, moved: str | None, seed: int) -> dict:
    from core.predict import drift_report
    rng = np.random.default_rng(seed)
    ours = naive = 0
    start = time.perf_counter()
    for _ in range(repeats):
        report = drift_report(make_rows(n, rng), make_rows(n, rng, **settings), NUMERIC, CATEGORICAL)
        if moved is None:
            ours += bool(report.flagged)
            naive += any(c.p_value < 0.05 for c in report.columns)
        else:
            ours += report.column(moved).flagged
            naive += report.column(moved).p_value < 0.05
    return {"ours": ours, "naive": naive, "seconds": (time.perf_counter() - start) / repeats}


def main() -> None:
    scale = float(os.environ.get("MODELDECK_BENCH_DRIFT_SCALE", "1"))     # e.g. 0.1 for a quick look
    print(__doc__.split("\n\n")[0])
    print(f"{'scenario':<34}{'rows':>10}{'reps':>6}{'naive':>9}{'ours':>8}{'ours 95% CI':>16}{'target':>10}"
          f"{'naive/ours':>12}{'s/rep':>8}")
    verdicts = []
    for i, (name, (settings, moved)) in enumerate(SCENARIOS.items()):
        for j, n in enumerate(SIZES):
            reps = max(5, int(REPEATS[n] * scale))
            r = one_scenario(n, reps, settings, moved, seed=1000 * i + j)
            low, high = wilson(r["ours"], reps)
            rate, naive = r["ours"] / reps, r["naive"] / reps
            target = "<= 5%" if moved is None else ">= 90%"
            ok = rate <= 0.05 if moved is None else rate >= 0.90
            verdicts.append(ok)
            ratio = f"{naive / rate:.1f}x" if rate > 0 else ("inf" if naive > 0 else "—")
            print(f"{name:<34}{n:>10,}{reps:>6}{naive:>9.1%}{rate:>8.1%}{f'{low:.1%}-{high:.1%}':>16}"
                  f"{target:>10}{ratio:>12}{r['seconds']:>8.2f}  {'ok' if ok else 'MISSED'}", flush=True)
    print(f"{sum(verdicts)} of {len(verdicts)} targets met. 'naive' = any column with p < 0.05 (alarm rows) or "
          "the moved column with p < 0.05 (caught rows).")


if __name__ == "__main__":
    main()
