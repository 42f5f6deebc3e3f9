"""Comparing runs (issue 16): differences equal the stored metrics, identical settings folded away, a paired interval,
drivers' ranks, one sentence, different data sets refused, and the section on the Runs page."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.common import ModelDeckError
from core.data import PrepOptions, load_dataset, split_dataset
from core.models import ModelSpec
from core.runs import RunStore, save_trained
from core.share import compare_runs
from core.train import train_model

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def _run(key: str, family: str = "random_forest", cv: int = 3, **params):
    dataset = load_dataset(key)
    trained = train_model(dataset, ModelSpec.create(family, **params), cv_folds=cv)
    return save_trained(RunStore(), trained, dataset.name)


@pytest.fixture()
def two_forests(fresh_home):
    return (_run("builtin:breast_cancer", max_depth=2, n_estimators=30),
            _run("builtin:breast_cancer", max_depth=8, n_estimators=30))


def test_differences_equal_the_stored_metrics(two_forests):
    a, b = two_forests
    result = compare_runs([a, b])
    test = result.metrics[result.metrics["on"] == "test rows"].set_index("metric")
    assert set(test.index) == set(a.metrics["test"])
    for metric, value in a.metrics["test"].items():
        assert test.loc[metric, "A"] == value and test.loc[metric, "B"] == b.metrics["test"][metric]
        assert test.loc[metric, "B − A"] == pytest.approx(b.metrics["test"][metric] - value, abs=1e-15)
    cv = result.metrics[result.metrics["on"] == "cross-validation"].set_index("metric")
    for metric, (mean, _std) in a.metrics["cv"].items():
        assert cv.loc[metric, "B − A"] == pytest.approx(b.metrics["cv"][metric][0] - mean, abs=1e-15)


def test_only_what_differs_comes_first_and_the_sentence_names_it(two_forests):
    a, b = two_forests
    result = compare_runs([a, b])
    assert result.differing.to_dict("records") == [{"setting": "max_depth", "A": "2", "B": "8"}]
    assert "n_estimators" in set(result.same["setting"]) and "cleaning: seed" in set(result.same["setting"])
    best = "B" if b.metrics["cv"]["accuracy"][0] >= a.metrics["cv"]["accuracy"][0] else "A"
    other = "A" if best == "B" else "B"
    depth = {"A": "2", "B": "8"}
    assert result.sentence.startswith(f"Run {best} is ") and "on cross-validation" in result.sentence
    assert result.sentence.endswith(f"the only difference is max_depth: {depth[best]} instead of {depth[other]}.")


def test_the_paired_interval_is_a_bootstrap_of_the_row_differences(two_forests):
    a, b = two_forests
    result = compare_runs([a, b])
    row = result.metrics[(result.metrics["on"] == "test rows") & (result.metrics["metric"] == "accuracy")].iloc[0]
    pa, pb = RunStore().load_predictions(a.id)["test"], RunStore().load_predictions(b.id)["test"]
    right = (np.asarray(pb.y_pred) == np.asarray(pb.y_true)).astype(float) - \
        (np.asarray(pa.y_pred) == np.asarray(pa.y_true)).astype(float)
    idx = np.random.default_rng(0).integers(0, len(right), size=(1000, len(right)))
    expected = np.percentile(right[idx].mean(axis=1), [2.5, 97.5])
    assert row["B − A, 95%"] == pytest.approx(tuple(expected))
    assert row["B − A, 95%"][0] <= row["B − A"] <= row["B − A, 95%"][1]
    assert result.metrics.loc[result.metrics["metric"] == "roc_auc", "B − A, 95%"].iloc[0] is None


def test_drivers_ranks_come_from_stored_shap_values(two_forests):
    from core.explain import ShapEngine, explain_split, explanation_stem, save_explanation
    a, b = two_forests
    assert compare_runs([a, b]).drivers is None
    dataset = load_dataset("builtin:breast_cancer")
    expected = {}
    for label, run in (("A", a), ("B", b)):
        split = split_dataset(dataset, PrepOptions.from_dict(run.prep))
        engine = ShapEngine(RunStore().load_model(run.id), split.X_train, dataset.task, dataset.target, "tree")
        expl = explain_split(engine, split, 60, 0)
        save_explanation(expl, explanation_stem(RunStore().folder(run.id), "tree", 60, 0))
        expected[label] = list(expl.importance(0).index)
    drivers = compare_runs([a, b]).drivers.set_index("column")
    for label in ("A", "B"):
        for rank, column in enumerate(expected[label][:8], start=1):
            assert drivers.loc[column, f"rank in {label}"] == rank
    top_b = expected["B"][0]
    assert drivers.loc[top_b, "moved"] == expected["A"].index(top_b)      # its rank in A minus its rank 1 in B


def test_runs_on_different_data_sets_are_refused(fresh_home):
    a = _run("builtin:iris", "linear", cv=0)
    b = _run("builtin:wine", "linear", cv=0)
    with pytest.raises(ModelDeckError, match="trained on 'Wine.*' and run A .* on 'Iris.*': runs can only be compared "
                                             "on the same data set"):
        compare_runs([a, b])
    with pytest.raises(ModelDeckError, match="at least two runs"):
        compare_runs([a])


def test_runs_page_compares_two_runs(two_forests):
    from tests.test_pages import assert_clean, open_page
    a, b = two_forests
    at = open_page("pages/runs.py")
    assert_clean(at)
    assert any("Pick at least two" in i.value for i in at.info)
    next(m for m in at.multiselect if m.key == "compare_pick").select(a.id).select(b.id)
    at.run()
    assert_clean(at)
    assert any(m.value.startswith("**Run ") and "max_depth" in m.value for m in at.markdown)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("Scores side by side") for t in titles) and any(t.startswith("ROC curves") for t in titles)
    table = next(d.value for d in at.dataframe if "B − A" in d.value.columns)
    accuracy = table[(table["metric"] == "accuracy") & (table["on"] == "test rows")].iloc[0]
    assert accuracy["A"] == f"{a.metrics['test']['accuracy']:.1%}"
