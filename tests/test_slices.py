"""Where the model fails (issue 16): planted weak slices found and ranked, intervals equal to scipy's, small slices
never ranked first, the error tree's words, and the section on the Metrics page. The rate over many generated tables
is measured by `python -m benchmarks slices`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.bench_slices import make_table, success
from core.data import PrepOptions, load_dataset, split_dataset
from core.evaluate import find_slices, row_errors

NUM, CAT = ["age", "score", "spend"], ["plan", "group", "region"]


@pytest.fixture(scope="module")
def churn_test_rows():
    dataset = load_dataset("builtin:churn")
    split = split_dataset(dataset, PrepOptions())
    X = split.X_test.reset_index(drop=True)
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    return X, split.y_test.to_numpy().astype(str), numeric, [c for c in X.columns if c not in numeric]


def _flip(y: np.ndarray, where: np.ndarray) -> np.ndarray:
    return np.where(where, np.where(y == "yes", "no", "yes"), y)


def test_a_planted_bad_slice_on_the_churn_data_ranks_first(churn_test_rows):
    X, y, numeric, categorical = churn_test_rows
    rng = np.random.default_rng(0)
    planted = (X["payment_method"] == "mailed check").to_numpy()
    y_pred = _flip(y, (rng.random(len(y)) < 0.08) | (planted & (rng.random(len(y)) < 0.35)))
    report = find_slices(X, y, y_pred, "classification", numeric, categorical, words=("customer", "customers"))
    first = report.slices[0]
    assert first.description == "payment_method = 'mailed check'" and first.surely_worse
    assert first.size == int(planted.sum()) and first.error == pytest.approx(np.mean(y_pred[planted] != y[planted]))
    assert report.headline().endswith(f"Customers with payment_method = 'mailed check': {first.error:.0%} of them are "
                                      f"misclassified, against {report.overall:.0%} overall; {first.size:,} customers.")
    assert len(report.slices) <= 15 and all(s.error > report.overall for s in report.slices)


@pytest.mark.parametrize("seed", [0, 1])
def test_three_planted_weak_slices_are_the_top_five(seed):
    X, y_true, y_pred = make_table(seed)
    report = find_slices(X, y_true, y_pred, "classification", NUM, CAT)
    ok, others_ahead = success([s.description for s in report.slices])
    assert ok and 0 <= others_ahead <= 2, [s.description for s in report.slices[:6]]


def test_intervals_are_wilsons(churn_test_rows):
    from scipy.stats import binomtest
    X, y, numeric, categorical = churn_test_rows
    y_pred = _flip(y, np.random.default_rng(1).random(len(y)) < 0.2)
    report = find_slices(X, y, y_pred, "classification", numeric, categorical)
    for s in report.slices[:5]:
        k = round(s.error * s.size)
        ci = binomtest(k, s.size).proportion_ci(0.95, method="wilson")
        assert (s.low, s.high) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_slices_too_small_to_tell_are_marked_and_never_first(churn_test_rows):
    X, y, numeric, categorical = churn_test_rows
    X = X.copy()
    X.loc[:11, "region"] = "island"                                 # 12 rows, all of them wrong
    wrong = np.zeros(len(y), bool)
    wrong[:12] = True
    wrong |= (X["contract"] == "month-to-month").to_numpy() & (np.random.default_rng(2).random(len(y)) < 0.3)
    report = find_slices(X, y, _flip(y, wrong), "classification", numeric, categorical, max_shown=1000)
    tiny = next(s for s in report.slices if s.description == "region = 'island'")
    assert tiny.error == 1.0 and tiny.too_small and not tiny.surely_worse
    assert report.slices[0].description != "region = 'island'" and not report.slices[0].too_small
    assert all(s.too_small for s in report.slices[report.slices.index(tiny):])     # below every slice that is not
    assert report.sentence(tiny).endswith("12 rows (too few rows to be sure).")


def test_regression_slices_speak_of_the_error_size():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"size": rng.uniform(20, 200, 800), "city": rng.choice(["a", "b", "c", "d"], 800)})
    y = rng.normal(100, 10, 800)
    pred = y + rng.normal(0, 5, 800) + np.where(X["city"] == "c", rng.normal(0, 25, 800), 0)
    report = find_slices(X, y, pred, "regression", ["size"], ["city"])
    first = report.slices[0]
    assert first.description == "city = 'c'" and first.surely_worse
    assert first.error == pytest.approx(np.abs(y - pred)[X["city"] == "c"].mean())
    assert "off by" in report.sentence(first) and report.error_name == "mean absolute error"
    np.testing.assert_allclose(row_errors(y, pred, "regression"), np.abs(y - pred))


def test_the_error_tree_names_a_planted_region_in_words():
    rng = np.random.default_rng(4)
    n = 3000
    X = pd.DataFrame({"tenure": rng.integers(1, 73, n).astype(float),
                      "contract": rng.choice(["monthly", "yearly"], n)})
    y = rng.choice(["no", "yes"], n)
    region = ((X["contract"] == "monthly") & (X["tenure"] < 7)).to_numpy()
    y_pred = _flip(y, (rng.random(n) < 0.1) | (region & (rng.random(n) < 0.5)))
    report = find_slices(X, y, y_pred, "classification", ["tenure"], ["contract"], words=("customer", "customers"))
    words = report.sentence(report.tree[0])
    assert "contract = 'monthly'" in words and "tenure ≤ 6.5" in words
    assert words.startswith("Customers with ") and "misclassified, against" in words


def test_metrics_page_shows_where_the_model_fails(fresh_home):
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from tests.test_pages import assert_clean, open_page
    dataset = load_dataset("builtin:churn")
    run = save_trained(RunStore(), train_model(dataset, ModelSpec.create("linear"), cv_folds=0), dataset.name)
    at = open_page("pages/metrics.py", run=run.id)
    assert_clean(at)
    assert any(s.value == "Where does the model fail?" for s in at.subheader)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("Where the model fails:") for t in titles)
    assert any("slices examined" in m.value for m in at.markdown)
