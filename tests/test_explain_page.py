"""Explain page through AppTest: global view, row change, what-if, LIME, counterfactual, checks, bad input."""
from __future__ import annotations

import json

import pytest

from core.data import load_dataset
from core.models import ModelSpec
from core.runs import RunStore, save_trained
from core.train import train_model
from tests.test_pages import assert_clean, button, open_page

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def _run(family: str = "hist_gb", key: str = "builtin:breast_cancer", **params):
    dataset = load_dataset(key)
    return save_trained(RunStore(), train_model(dataset, ModelSpec.create(family, **params), cv_folds=0), dataset.name)


def _chart_titles(at) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def _number(at, key: str):
    return next(n for n in at.number_input if n.key == key)


def test_no_run_or_unfinished_run_gets_a_message_and_a_link(fresh_home):
    at = open_page("pages/explain.py")
    assert_clean(at)
    assert any("No run is selected" in i.value for i in at.info) and not at.get("plotly_chart")
    dataset = load_dataset("builtin:iris")
    run = RunStore().create(name="still going", dataset_key=dataset.key, dataset_name=dataset.name,
                            task=dataset.task, spec_json=ModelSpec.create("linear").to_json(), prep={},
                            status="running")
    at = open_page("pages/explain.py", run=run.id)
    assert_clean(at)
    assert any("still training" in i.value for i in at.info) and not at.get("plotly_chart")


def test_global_view_row_change_what_if_lime_and_counterfactual(fresh_home):
    run = _run(max_iter=30)
    at = open_page("pages/explain.py", run=run.id)
    assert_clean(at)
    titles = _chart_titles(at)
    assert any("mean |SHAP|" in t for t in titles) and any("beeswarm" in t for t in titles)
    assert any(t.startswith("Dependence") for t in titles)
    assert all("Tree SHAP (exact)" in t for t in titles if "SHAP" in t)
    assert any("additivity error" in c.value and "log-odds of 'malignant'" in c.value for c in at.caption)
    assert any(m.value.startswith("Across 569 patients, the model leans most on") for m in at.markdown)
    stored = list((RunStore().folder(run.id) / "explain").glob("shap_tree_2000_0.*"))
    assert sorted(p.suffix for p in stored) == [".json", ".npz"]        # saved with the run

    # a row change updates the waterfall and the story
    first = next(t for t in _chart_titles(at) if "waterfall" in t)
    _number(at, f"explain_row_{run.id}").set_value(7).run()
    assert_clean(at)
    second = next(t for t in _chart_titles(at) if "waterfall" in t)
    assert "row 7" in second and second != first
    assert any(m.value.startswith("For this patient the model predicts") for m in at.markdown)

    # what-if: push the strongest column far and the prediction changes
    boxes = [n for n in at.number_input if n.key.startswith(f"whatif_{run.id}_7_")]
    assert boxes
    target = next(b for b in boxes if "worst" in b.key or "mean" in b.key)
    for value in (0.0, target.value * 20 + 1000):
        target.set_value(value).run()
        assert_clean(at)
        before = next(m for m in at.metric if m.label == "Prediction now").value
        after = next(m for m in at.metric if m.label == "Prediction after your edits").value
        if after != before:
            break
    assert after != before
    assert any("with your edits" in t for t in _chart_titles(at))

    # LIME and a counterfactual, on request only
    assert not any("LIME" in t for t in _chart_titles(at))
    at.toggle(key="explain_lime").set_value(True).run()
    assert_clean(at)
    assert any(t.startswith("LIME for row 7") for t in _chart_titles(at))
    assert any("rank correlation" in c.value for c in at.caption)
    at.toggle(key="explain_cf").set_value(True).run()
    assert_clean(at)
    assert any(m.value.startswith(("Had ", "No change")) for m in at.markdown)

    # reopening does not recompute: the stored arrays are read back
    mtime = stored[0].stat().st_mtime
    again = open_page("pages/explain.py", run=run.id)
    assert_clean(again)
    assert stored[0].stat().st_mtime == mtime


def test_cross_checks_and_bad_row(fresh_home):
    run = _run(max_iter=20)
    at = open_page("pages/explain.py", run=run.id)
    _number(at, f"explain_row_{run.id}").set_value(99999).run()
    assert not at.exception
    assert any("Rows go from 0 to 568" in e.value for e in at.error)
    button(at, "explain_perm_go").click().run()
    assert not at.exception
    assert any(t.startswith("Permutation importance") for t in _chart_titles(at))
    assert any(c.value.startswith("Shuffling ") for c in at.caption)
    at.toggle(key="explain_inter_on").set_value(True).run()
    assert any("measured on 1 row" in i.value for i in at.info)
    _number(at, f"explain_inter_rows_{run.id}").set_value(10).run()
    button(at, "explain_inter_go").click().run()
    assert not at.exception
    assert any("interaction values" in t for t in _chart_titles(at))


def test_model_agnostic_explainer_waits_for_a_click_after_a_time_estimate(fresh_home):
    run = _run("knn", "builtin:iris")
    at = open_page("pages/explain.py", run=run.id)
    assert_clean(at)
    assert any("will take" in i.value and "measured on 2 rows" in i.value and "Permutation SHAP" in i.value
               for i in at.info)
    assert not at.get("plotly_chart")                          # nothing computed before the click
    _number(at, f"explain_rows_{run.id}_permutation").set_value(12).run()
    button(at, f"explain_go_{run.id}_permutation").click().run()
    assert_clean(at)
    titles = _chart_titles(at)
    assert any("Permutation SHAP (model-agnostic)" in t and "12 of 149 rows" in t for t in titles)
    assert at.selectbox(key=f"explain_class_{run.id}").options == ["setosa", "versicolor", "virginica"]
