"""The one background-job mechanism (issue 14): a job's progress is visible from another process, cancel stops
it (and keeps what was there before), a job that stopped beating reads failed, and a page finds its job again
after the tab was closed and reopened."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from core.common import ModelDeckError
from core.data import PrepOptions, load_builtin
from core.models import ModelSpec
from core.runs import RunStore, pid_alive, save_trained


def wait_for(condition, timeout: float = 120.0, every: float = 0.1):
    """The condition's first truthy value, polled every `every` seconds; fails after `timeout` seconds."""
    deadline = time.time() + timeout
    while not (value := condition()):
        assert time.time() < deadline, "timed out"
        time.sleep(every)
    return value


def slow_comparison(epochs: int = 1000) -> dict:
    """An optimizer comparison on iris that reports every epoch and runs long enough to be cancelled."""
    base = ModelSpec.create("mlp", hidden=[8], epochs=epochs, early_stopping=False, batch_size=8)
    return {"dataset_key": "builtin:iris", "base_json": base.to_json(), "prep": PrepOptions().to_dict(),
            "optimizers": ["sgd", "adam"]}


def test_progress_is_visible_from_another_process_and_cancel_stops_the_job(fresh_home):
    from core.jobs import start_job
    from core.train import train_model
    iris = load_builtin("iris")
    store = RunStore(owner="user:ann")
    earlier = save_trained(store, train_model(iris, ModelSpec.create("linear"), cv_folds=0), iris.name)

    job = start_job(store, "optimizers", iris.key, slow_comparison())
    assert job.status == "queued" and job.owner == "user:ann" and job.pid and job.pid != __import__("os").getpid()
    seen = wait_for(lambda: (j := store.get_job(job.id)).progress > 0 and j)   # written by the job's process
    assert seen.status == "running" and "SGD" in seen.message and seen.heartbeat_at >= seen.started_at

    store.request_cancel(job.id)
    ended = wait_for(lambda: (j := store.get_job(job.id)).finished and j, timeout=30)
    assert ended.status == "cancelled" and ended.result is None and ended.progress < 1.0
    wait_for(lambda: not pid_alive(job.pid), timeout=10)                   # the child stopped
    kept = store.get(earlier.id)                                            # earlier runs intact
    assert kept.status == "done" and store.load_model(kept.id) is not None
    assert [r.id for r in store.list()] == [earlier.id]


def test_a_job_whose_heartbeat_stopped_reads_failed(fresh_home):
    from core.runs._schema import jobs_table
    store = RunStore(owner="user:ann", stale_after_s=60)
    job = store.queue_job("leaderboard", "builtin:iris", {})
    long_ago = job.started_at - timedelta(seconds=120)
    with store.engine.begin() as conn:     # as if its process, on another machine, stopped 2 minutes ago
        conn.execute(jobs_table.update().where(jobs_table.c.id == job.id)
                     .values(status="running", host="elsewhere", pid=4242, heartbeat_at=long_ago))
    stale = store.get_job(job.id)
    assert stale.status == "failed" and "No heartbeat" in stale.error and "elsewhere" in stale.error
    assert RunStore(stale_after_s=600).get_job(job.id).status == "running"      # within the limit it still runs
    # a job whose process is gone on this machine reads failed at once
    gone = store.queue_job("leaderboard", "builtin:iris", {})
    store.job_launched(gone.id, 2**22 + 7)
    assert store.get_job(gone.id).status == "failed"


def test_a_job_that_fails_keeps_one_line_and_unknown_kinds_are_refused(fresh_home):
    from core.jobs import start_job
    store = RunStore(owner="user:ann")
    with pytest.raises(ModelDeckError, match="no background job of kind 'nope'"):
        start_job(store, "nope", "x", {})
    job = start_job(store, "leaderboard", "builtin:nope", {"dataset_key": "builtin:nope", "prep": {},
                                                           "families": ["linear"]}, in_process=True)
    assert job.status == "failed" and "\n" not in job.error and "nope" in job.error


def _failed_job_panel(job_id: str) -> None:
    from core.runs import RunStore
    from ui.jobs import job_panel
    job_panel(RunStore().get_job(job_id), "The comparison", key="t")


def test_a_failed_job_keeps_its_traceback_and_the_page_shows_it(fresh_home):
    from streamlit.testing.v1 import AppTest

    from core.jobs import start_job
    store = RunStore(owner="user:ann")
    job = start_job(store, "leaderboard", "builtin:iris", {"dataset_key": "builtin:iris"}, in_process=True)
    assert job.status == "failed" and job.error == "Unexpected error: KeyError: 'prep'"
    log = store.job_log_text(job.id)      # no log file (run in this process): the traceback is kept instead
    assert log.startswith("Traceback") and log.rstrip().endswith("KeyError: 'prep'")
    at = AppTest.from_function(_failed_job_panel, args=(job.id,), default_timeout=30).run()
    assert not at.exception and at.error[0].value == f"The comparison failed: {job.error}"
    assert at.expander[0].label.startswith("What the job printed") and at.code[0].value.strip() == log.strip()


def test_a_leaderboard_job_is_found_again_when_the_tab_is_reopened(fresh_home):
    from tests.test_pages import assert_clean, button, finish_jobs, open_page
    at = open_page("pages/train.py")
    at.multiselect(key="board_models").set_value(["linear"]).run()
    button(at, "board_go").click().run()
    assert_clean(at)
    assert any("runs in the background" in c.value for c in at.caption)       # followed, not waited for
    assert any(b.key == "board_cancel" for b in at.button)
    finish_jobs(at)
    job = RunStore().jobs(kind="leaderboard")[0]
    assert job.status == "done" and len(job.result["run_ids"]) == 1

    reopened = open_page("pages/train.py")         # a new session of the same browser: the tab was closed
    assert_clean(reopened)
    assert any(c.value.startswith("Chosen: Logistic regression") for c in reopened.caption)
    assert len(reopened.dataframe[0].value) == 1


def test_shap_over_many_rows_runs_as_a_background_job_and_the_page_reads_it(fresh_home):
    from core.data import load_dataset
    from core.train import train_model
    from tests.test_pages import assert_clean, button, finish_jobs, open_page
    from ui.explain import BACKGROUND_ROWS
    churn = load_dataset("builtin:churn")
    run = save_trained(RunStore(), train_model(churn, ModelSpec.create("random_forest", n_estimators=10), cv_folds=0),
                       churn.name)
    at = open_page("pages/explain.py", run=run.id)
    rows = next(n for n in at.number_input if n.key.startswith(f"explain_rows_{run.id}"))
    rows.set_value(BACKGROUND_ROWS + 500).run()
    assert_clean(at)
    assert any(f"more than {BACKGROUND_ROWS:,}" in i.value for i in at.info)
    button(at, next(b.key for b in at.button if b.key.startswith(f"explain_go_{run.id}"))).click().run()
    assert_clean(at)
    job = RunStore().jobs(kind="shap")[0]
    assert job.params["max_rows"] == BACKGROUND_ROWS + 500
    finish_jobs(at)
    assert_clean(at)
    assert RunStore().get_job(job.id).result["rows"] == BACKGROUND_ROWS + 500
    assert at.get("plotly_chart"), "the stored explanation was not drawn"


def test_a_cancel_stops_a_step_that_never_reports_progress(fresh_home, monkeypatch):
    """A job busy in one long step (one big model) takes no progress report where a cancel could be taken: after
    the grace period the heartbeat's thread ends it cancelled and interrupts the work (the command line sends
    itself SIGTERM; here the test's main thread is interrupted)."""
    import _thread
    import threading

    from core.jobs import _kinds
    from core.jobs._run import run_job

    def one_long_step(job, progress, store):
        progress(0.1, "Training one big model")
        while True:                            # never reports again
            time.sleep(0.01)

    monkeypatch.setitem(_kinds.KINDS, "one_long_step", one_long_step)
    store = RunStore(owner="user:ann")
    job = store.queue_job("one_long_step", "builtin:iris", {})
    threading.Timer(0.5, store.request_cancel, args=(job.id,)).start()
    started = time.monotonic()
    ended = run_job(job.id, store, stop=_thread.interrupt_main, beat_every=0.1, cancel_grace=0.5)
    assert ended.status == "cancelled" and "stopped in the middle of a step" in ended.error
    assert 1.0 <= time.monotonic() - started < 10
    assert store.job_log_text(job.id) is None                     # a cancel is not a failure: no log kept
    from core.jobs._kinds import FINISH_THE_STEP
    assert FINISH_THE_STEP == {"tune"}                   # a tuning worker ends its trial (a cut one would be failed)


def test_work_inside_a_job_adds_no_second_heartbeat_row(fresh_home):
    """A compression run as a background job beats on the job's row; run on its own (`python -m core compress`)
    it records its own row."""
    from core.compress import CompressOptions, compress_run
    from core.jobs import start_job
    from core.train import train_model
    iris = load_builtin("iris")
    store = RunStore(owner="user:ann")
    run = save_trained(store, train_model(iris, ModelSpec.create("random_forest", n_estimators=10), cv_folds=0),
                       iris.name)
    options = CompressOptions(rounds=1, repeats=2).to_dict()
    job = start_job(store, "compress", run.id, {"run_id": run.id, "options": options}, in_process=True)
    assert job.status == "done", job.error
    assert [(j.id, j.kind) for j in store.jobs(subject=run.id)] == [(job.id, "compress")]
    compress_run(run.id, CompressOptions(rounds=1, repeats=2), store=store)
    assert [j.kind for j in store.jobs(subject=run.id)] == ["compress", "compress"]
