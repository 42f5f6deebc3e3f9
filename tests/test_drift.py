"""Drift that does not cry wolf (issue 16): PSI and its sample-size correction, Holm's correction, the decision on
seeded generated data, the words, and the `drift` command. The rates at 1,000 to 1,000,000 rows are measured by
`python -m benchmarks drift`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.common import ModelDeckError
from core.predict import drift_report, holm, psi
from core.predict._drift import psi_chance


def _rows(n: int, seed: int, shift: float = 0.0, premium: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "charges": rng.normal(70.0 + 15.0 * shift, 15.0, n),
        "calls": rng.poisson(1.3, n).astype(float),
        "tenure": rng.integers(1, 73, n).astype(float),
        "plan": rng.choice(["basic", "premium", "family"], n, p=[0.7 - premium, premium, 0.3]),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })


NUMERIC, CATEGORICAL = ["charges", "calls", "tenure"], ["plan", "region"]


def test_psi_matches_the_formula_on_large_counts():
    expected = (0.3 - 0.5) * np.log(0.3 / 0.5) + (0.7 - 0.5) * np.log(0.7 / 0.5)
    assert psi([5000, 5000], [3000, 7000]) == pytest.approx(expected, abs=1e-3)
    assert psi([10, 0, 10], [10, 0, 10]) == pytest.approx(0.0)                     # a bin empty on both sides
    assert psi_chance([100, 100, 100, 0], [50, 50, 50, 50]) == pytest.approx(2 * (1 / 300 + 1 / 200))


def test_the_sample_size_correction_is_what_chance_gives():
    """Without drift the raw PSI averages the chance value; the corrected one averages about zero."""
    rng = np.random.default_rng(0)
    shares = np.full(10, 0.1)
    raw = [psi(rng.multinomial(2000, shares), rng.multinomial(200, shares)) for _ in range(400)]
    chance = psi_chance(np.full(10, 200), np.full(10, 20))
    assert np.mean(raw) == pytest.approx(chance, rel=0.15)


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.2]) == [0.2]


def test_a_shifted_column_is_flagged_and_the_others_are_not():
    report = drift_report(_rows(3000, 1), _rows(1500, 2, shift=0.6), NUMERIC, CATEGORICAL)
    assert [c.column for c in report.flagged] == ["charges"]
    charges = report.column("charges")
    assert charges.test == "Kolmogorov–Smirnov" and charges.p_adjusted < 1e-6 and charges.psi > 0.2
    assert charges.n_reference == 3000 and charges.n_new == 1500
    assert charges.change == "up by 12% (median 70 → 78.1)"           # 0.6 sd of 15 on a median of 70
    assert charges.advice.startswith("'charges' moved up by 12%") and "retrain with recent data" in charges.advice
    assert report.headline().startswith("1 of 5 columns moved: 'charges' (1,500 new rows against 3,000 training rows")
    assert report.columns[0].column == "charges"                                   # the most moved first


def test_a_category_mix_change_is_flagged_by_chi_square():
    report = drift_report(_rows(3000, 3), _rows(1000, 4, premium=0.55), NUMERIC, CATEGORICAL)
    assert [c.column for c in report.flagged] == ["plan"]
    plan = report.column("plan")
    assert plan.test == "chi-square" and plan.change == "'basic' 40% → 16% of rows"   # the largest part of the PSI


def test_no_drift_is_no_alarm():
    report = drift_report(_rows(5000, 5), _rows(5000, 6), NUMERIC, CATEGORICAL)
    assert report.flagged == [] and report.headline().startswith("No column moved enough to matter")


def test_on_many_rows_a_tiny_real_shift_is_measurable_but_not_flagged():
    report = drift_report(_rows(200_000, 7), _rows(200_000, 8, shift=0.03), NUMERIC, CATEGORICAL)
    charges = report.column("charges")
    assert charges.detectable and not charges.flagged and charges.psi < 0.01
    assert "differs measurably but slightly" in report.headline()


def test_on_few_rows_a_large_looking_psi_is_not_flagged():
    report = drift_report(_rows(2000, 9), _rows(30, 10), NUMERIC, CATEGORICAL)
    assert report.flagged == [] and max(c.psi_raw for c in report.columns) > 0.1
    assert report.notes == ["Only 30 new rows: only large moves can be told from chance."]


def test_unseen_categories_and_values_beyond_training_are_in_the_advice():
    new = _rows(800, 12, shift=1.5)
    new.loc[:199, "region"] = "mars"
    report = drift_report(_rows(3000, 11), new, NUMERIC, CATEGORICAL)
    region, charges = report.column("region"), report.column("charges")
    assert region.flagged and region.outside == pytest.approx(0.25) and "never saw" in region.advice
    assert charges.outside > 0 and "outside anything the model has seen" in charges.advice


def test_empty_new_rows_are_refused():
    with pytest.raises(ModelDeckError, match="no new rows"):
        drift_report(_rows(100, 1), _rows(100, 1).iloc[:0], NUMERIC, CATEGORICAL)


def test_drift_command_on_a_saved_run(fresh_home, tmp_path, capsys):
    from core.__main__ import main
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    dataset = load_dataset("builtin:churn")
    run = save_trained(RunStore(), train_model(dataset, ModelSpec.create("linear"), cv_folds=0), dataset.name)
    new = dataset.frame.drop(columns=[dataset.target]).sample(800, random_state=0)
    new["monthly_charges"] = new["monthly_charges"] * 1.3
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["drift", "--run", run.id, "--csv", str(tmp_path / "new.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    moved = [c["column"] for c in out["columns"] if c["flagged"]]
    assert "monthly_charges" in moved and out["advice"][0].startswith("'monthly_charges' moved up by 33% (median 62.5 → 82.9)")
    assert main(["drift", "--run", run.id, "--csv", str(tmp_path / "new.csv")]) == 0
    text = capsys.readouterr().out
    assert "columns moved: 'monthly_charges'" in text and "Kolmogorov–Smirnov" in text
