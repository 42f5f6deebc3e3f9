"""The Tune page through AppTest: a background search, training its best configuration, comparing strategies,
deleting a search, and bad input shown as messages."""
from __future__ import annotations

import time

import pytest

from core import tune
from core.tune import TuneConfig
from tests.test_pages import assert_clean, button, finish_jobs, open_page, selectbox
from tests.test_share_links import TESTS_BROWSER

IRIS = "builtin:iris"


def linear_config(strategy: str = "tpe", budget: int = 12) -> TuneConfig:
    return TuneConfig(IRIS, tune.default_space("linear"), "accuracy", strategy, budget, cv_folds=2)


def wait_done(names: list[str], timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while not all(tune.study_status(n).done for n in names):
        assert time.time() < deadline, "the search did not finish"
        time.sleep(0.3)


def set_number(at, key: str, value) -> None:
    next(n for n in at.number_input if n.key == key).set_value(value).run()


def test_tune_page_runs_a_search_in_the_background_and_trains_the_best(fresh_home):
    from core.runs import RunStore
    at = open_page("pages/tune.py", data=IRIS)
    assert_clean(at)
    selectbox(at, "tune_family").select("linear").run()
    set_number(at, "tune_budget", 0)
    assert any("budget is 0" in e.value for e in at.error) and button(at, "tune_start").disabled
    set_number(at, "tune_budget", 8)
    set_number(at, "tune_folds", 2)
    assert_clean(at)
    button(at, "tune_start").click().run()
    assert_clean(at)
    name = at.session_state["study"]
    assert tune.study_owner(name) == TESTS_BROWSER          # the search is this browser's (issue 12)
    jobs = RunStore().jobs(kind="tune", subject=name)                # the workers are background jobs (issue 14)
    assert len(jobs) == 2 and len({j.owner for j in jobs}) == 1 and jobs[0].owner.startswith("browser:")
    shown = {b.key for b in at.button if b.key.startswith("tune_job_")}     # followed with progress and Cancel
    assert shown and shown <= {f"tune_job_{j.id}_cancel" for j in jobs}
    followed = [c.value for c in at.caption if "in the background (process" in c.value]
    assert len(followed) == 1, followed                     # one polling fragment follows every worker
    wait_done([name])
    status = tune.study_status(name)
    assert status.n_complete == 8 and len(status.workers) == 2     # two background worker processes
    finish_jobs(at)
    jobs = RunStore().jobs(kind="tune", subject=name)
    assert [j.status for j in jobs] == ["done", "done"] and sum(j.result["ran"] for j in jobs) == 8
    assert_clean(at)
    assert next(m for m in at.metric if m.label == "Trials done").value == "8 / 8"
    assert len(at.get("plotly_chart")) >= 4
    assert any(c.value.startswith("8 of 8 trials done") for c in at.caption)
    button(at, "tune_train_best").click().run()
    assert_clean(at)
    run = RunStore().list()[0]
    assert run.spec["params"]["C"] == pytest.approx(status.best.params["C"]) and run.status == "done"


def test_deleting_a_search_from_the_page(fresh_home):
    first = tune.create_study(linear_config("random", budget=2))
    tune.run_worker(first)
    second = tune.create_study(linear_config("random", budget=2))
    at = open_page("pages/tune.py", data=IRIS, study=first)
    assert_clean(at)
    assert at.session_state["study"] == first
    assert any("2 of 2 trials done" in c.value for c in at.caption)
    button(at, "tune_delete").click().run()
    assert_clean(at)
    assert [s.name for s in tune.list_studies(IRIS)] == [second]
    assert at.session_state["study"] == second


def test_compare_strategies_from_the_page(fresh_home):
    at = open_page("pages/tune.py", data=IRIS)
    selectbox(at, "tune_family").select("linear").run()
    set_number(at, "tune_budget", 5)
    set_number(at, "tune_folds", 2)
    button(at, "tune_compare").click().run()
    assert_clean(at)
    studies = tune.list_studies(IRIS)
    assert sorted(s.strategy for s in studies) == ["grid", "random", "tpe"] and len({s.group for s in studies}) == 1
    assert {tune.study_owner(s.name) for s in studies} == {TESTS_BROWSER}
    wait_done([s.name for s in studies])
    at.run()
    assert_clean(at)
    assert any(c.value.startswith("Best cross-validated accuracy — Grid") for c in at.caption)
    assert "Grid" in str(at.get("plotly_chart")[0].proto.spec)


def test_a_metric_the_task_cannot_use_is_not_offered(fresh_home):
    at = open_page("pages/tune.py", data="builtin:diabetes")
    assert_clean(at)
    metric = next(s for s in at.selectbox if s.key == "tune_metric_regression")
    assert metric.options == ["R² (higher is better)", "MAE (lower is better)", "RMSE (lower is better)"]


def test_a_search_belongs_to_who_started_it(fresh_home):
    """A search started on the page is its browser's: another browser neither lists it (whatever ?study= says) nor
    can stop or delete it; the one check refuses with a clear message. Searches made from the command line (no
    owner) stay visible to everyone, as ownerless runs do."""
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP
    from tests.test_share_links import as_other
    mine = tune.create_study(linear_config(budget=1), owner=TESTS_BROWSER)     # what the page's Start creates
    cli = tune.create_study(linear_config("random", budget=1))
    assert {s.name for s in tune.list_studies(IRIS, visible_to=TESTS_BROWSER)} == {mine, cli}
    assert {s.name for s in tune.list_studies(IRIS, visible_to="browser:someone-else")} == {cli}
    assert tune.study_owner(mine) == TESTS_BROWSER and tune.study_owner(cli) is None

    at = open_page("pages/tune.py", data=IRIS, study=mine)
    assert_clean(at)
    assert any(mine in o for o in selectbox(at, "study").options)
    other = as_other(AppTest.from_file(APP, default_timeout=90))
    other.query_params["data"], other.query_params["study"] = IRIS, mine
    other.switch_page("pages/tune.py")
    other.run()
    assert not other.exception
    assert not any(mine in o for o in selectbox(other, "study").options) and other.session_state["study"] == cli
    probe = AppTest.from_string(f"""
import streamlit as st
from core import tune
from ui.auth import Identity
from ui.tune import change_study
st.session_state["_identity"] = Identity("browser:someone-else", "this browser", False)
for write in (tune.request_stop, tune.delete_study):
    try:
        change_study(write, {mine!r})
        st.write("allowed")
    except Exception as exc:
        st.write(str(exc))
""", default_timeout=30).run()
    said = " ".join(m.value for m in probe.markdown)
    assert "allowed" not in said and said.count("belongs to someone else") == 2, said
    assert tune.study_status(mine).name == mine and not tune.study_status(mine).stop_requested

