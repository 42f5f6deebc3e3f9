"""Several worker processes on one SQLite study: no lost or duplicated trial, dead workers, stop and resume."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import tune
from core.tune import _storage as tune_impl  # the module whose GRACE_S the workers read
from core.tune import Dim, SearchSpace, TuneConfig

ROOT = Path(__file__).resolve().parents[1]
IRIS = "builtin:iris"


def worker(name: str, trials: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "tune-worker", "--study", name, "--trials", str(trials)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})


def wait_until(condition, timeout: float = 60.0, every: float = 0.1, state=None) -> None:
    """Poll `condition`; on timeout fail with `state()` (what the study looked like) when given."""
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out; {state() if state else ''}"
        time.sleep(every)


def study_state(name: str) -> str:
    """Trials, worker records and worker jobs of a study, for a failure message."""
    from core.runs import RunStore
    status = tune.study_status(name)
    trials = [(t.number, t.state.name, t.user_attrs.get("worker")) for t in status.trials]
    jobs = [(j.id, j.status, j.pid, j.error) for j in RunStore().jobs(kind="tune", subject=name)]
    return f"trials {trials}; workers {status.workers}; jobs {jobs}; done {status.done}"


def slow_mlp_study(budget: int = 10) -> str:
    """Trials of about a second or more (many epochs, no early stopping), so a worker can be caught mid-trial."""
    space = SearchSpace("mlp", (Dim("lr", "float", 1e-3, 1e-1, log=True),),
                        {"hidden": "32", "epochs": 400, "early_stopping": False, "batch_size": 128})
    return tune.create_study(TuneConfig(IRIS, space, "accuracy", "random", budget=budget, cv_folds=2))


def running_trials(name: str) -> list:
    return [t for t in tune.study_status(name).trials if t.state.name == "RUNNING"]


def test_two_workers_on_one_sqlite_study_finish_exactly_40_trials(fresh_home):
    name = tune.create_study(TuneConfig(IRIS, tune.default_space("linear"), "accuracy", "tpe", budget=40, cv_folds=2))
    procs = [worker(name, 20), worker(name, 20)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    status = tune.study_status(name)
    assert [t.number for t in status.trials] == list(range(40))
    assert status.n_complete == 40 and status.n_failed == status.n_running == 0
    assert len({t._trial_id for t in status.trials}) == 40
    # each worker ran its 20 trials, and together they ran each trial exactly once
    by_worker = [sorted(int(n) for n in re.findall(r"^trial (\d+) complete", out, re.M)) for out in outputs]
    assert [len(numbers) for numbers in by_worker] == [20, 20]
    assert sorted(by_worker[0] + by_worker[1]) == list(range(40))
    assert sorted(sum(t.user_attrs["worker"] == w for t in status.trials) for w in status.workers) == [20, 20]
    assert status.done and not status.active


def test_a_killed_worker_leaves_the_study_usable(fresh_home, monkeypatch):
    monkeypatch.setattr(tune_impl, "GRACE_S", 4)      # declare a silent trial lost after 4 s (20 s in the app)
    name = slow_mlp_study()
    proc = worker(name, 5)
    wait_until(lambda: running_trials(name), timeout=90)
    lost = running_trials(name)[0].number
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # no heartbeat any more: the next look at the study marks the trial failed
    wait_until(lambda: tune.study_status(name).n_failed == 1, timeout=30, every=0.5)
    status = tune.study_status(name)
    assert status.trials[lost].state.name == "FAIL" and not status.active and status.n_running == 0
    assert "stopped answering" in status.fail_reasons()[0]
    # and the study goes on: a new worker adds a complete trial after it
    assert tune.run_worker(name, n_trials=1) == 1
    status = tune.study_status(name)
    assert [t.state.name for t in status.trials][-1] == "COMPLETE" and status.n_failed == 1


def test_the_survivor_finishes_the_budget_of_a_killed_worker(fresh_home, monkeypatch):
    """The budget is shared by the workers: when one of two is killed, the other runs what is left of it."""
    monkeypatch.setattr(tune_impl, "GRACE_S", 4)
    name = slow_mlp_study(budget=4)
    pids = tune.start_workers(name, 2)
    # kill the worker the last slot is kept for (the first by name), so the other has to take it over
    victim = min(pids, key=lambda pid: f"{socket.gethostname()}:{pid}")
    mine = lambda t: t.user_attrs.get("worker") == f"{socket.gethostname()}:{victim}"  # noqa: E731
    wait_until(lambda: any(mine(t) for t in running_trials(name)), timeout=90)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: tune.study_status(name).done, timeout=180, every=0.5, state=lambda: study_state(name))
    status = tune.study_status(name)
    assert [t.number for t in status.trials] == list(range(4)) and status.n_running == 0
    lost = [t for t in status.trials if t.state.name == "FAIL"]
    assert len(lost) == 1 and mine(lost[0]) and "stopped answering" in status.fail_reasons()[0]
    assert status.n_complete == 3 and status.done
    from core.runs import RunStore                  # each worker is a background job: the killed one reads failed
    jobs = {j.pid: j for j in RunStore().jobs(kind="tune", subject=name)}
    assert jobs[victim].status == "failed" and "is gone" in jobs[victim].error
    survivor = next(jobs[pid] for pid in pids if pid != victim)
    wait_until(lambda: RunStore().get_job(survivor.id).status == "done")


def test_cancelling_a_worker_job_stops_it_after_its_trial(fresh_home):
    """A worker started from the page is a background job: its progress is the study's, and Cancel stops it
    after the trial it is running (kept complete), like every job."""
    from core.runs import RunStore
    name = slow_mlp_study(budget=10)
    (pid,) = tune.start_workers(name, 1)
    store = RunStore()
    (job,) = store.jobs(kind="tune", subject=name)
    assert job.pid == pid and job.params["study"] == name
    wait_until(lambda: store.get_job(job.id).progress > 0, timeout=120)
    seen = store.get_job(job.id)
    assert seen.status == "running" and "of 10 trials finished" in seen.message
    assert re.fullmatch(r"trial \d+ \w+( accuracy [\d.]+%)? \(lr [\d.e-]+\) — \d+ of 10 trials finished", seen.message,
                        re.I), seen.message                    # settings rounded, no Python dict
    assert tune.settings_text({"lr": 0.00012219163423992245, "hidden": "64", "sizes": (32, 16)}) == \
        "lr 0.0001222, hidden 64, sizes 32, 16"
    store.request_cancel(job.id)
    wait_until(lambda: store.get_job(job.id).finished, timeout=120)
    assert store.get_job(job.id).status == "cancelled"
    status = tune.study_status(name)
    assert not status.active and status.n_failed == 0 and 1 <= status.n_complete < 10


def test_a_terminated_worker_marks_its_trial_failed_at_once(fresh_home):
    name = slow_mlp_study()
    proc = worker(name, 5)
    wait_until(lambda: running_trials(name), timeout=90)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 130 and "stopped" in out
    status = tune.study_status(name)
    assert status.n_failed == 1 and status.n_running == 0 and not status.active


def test_stop_after_the_current_trial_then_resume_to_the_budget(fresh_home):
    name = tune.create_study(TuneConfig(IRIS, tune.default_space("linear"), "accuracy", "random", budget=30,
                                        cv_folds=2))
    (pid,) = tune.start_workers(name, 1)
    wait_until(lambda: tune.study_status(name).n_finished >= 3)
    tune.request_stop(name)
    wait_until(lambda: not tune.study_status(name).active, timeout=60)
    stopped = tune.study_status(name)
    assert stopped.stop_requested and 3 <= stopped.n_finished < 30 and stopped.n_running == 0
    assert not stopped.done and tune.remaining_trials(name) == 30 - stopped.n_finished
    assert tune.run_worker(name) == 0           # a stopped study takes no new trials until resumed
    pids = tune.resume(name, 2)
    assert len(pids) == 2 and pid not in pids
    wait_until(lambda: tune.study_status(name).done, timeout=90)
    status = tune.study_status(name)
    assert status.n_complete == 30 and [t.number for t in status.trials] == list(range(30))
    assert not status.stop_requested
    assert tune.resume(name, 2) == []           # nothing left of the budget


@pytest.mark.parametrize("argv, message", [(["--study", "missing"], "no search named 'missing'")])
def test_worker_command_reports_bad_input(argv, message, fresh_home, capsys):
    from core.__main__ import main
    assert main(["tune-worker", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_trial_whose_worker_died_before_its_first_heartbeat_is_marked_failed(fresh_home):
    """Optuna's heartbeat check skips a running trial with no heartbeat yet: a worker killed in that instant left
    its trial running for ever, and the search never done. A trial whose worker process here is gone is failed."""
    name = slow_mlp_study(budget=4)
    study, _ = tune_impl.load_study(name, worker=None)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan, alive = study.ask(), study.ask()                      # RUNNING, never a heartbeat
    orphan.set_user_attr("worker", f"{socket.gethostname()}:{gone.pid}")
    alive.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    status = tune.study_status(name)
    assert [t.state.name for t in status.trials] == ["FAIL", "RUNNING"]
    assert "stopped answering" in status.fail_reasons()[0]


def test_a_worker_that_started_behind_another_takes_its_slot_when_it_dies(fresh_home):
    """A worker that starts while the last slot is kept for a live worker ahead of it (whose trial is running) must
    not fix its own count then: when the one ahead dies, it takes the slot over and the search ends done (seen under
    load: the survivor stopped one trial short and the search was never done)."""
    import threading
    from datetime import datetime, timezone
    name = tune.create_study(TuneConfig(IRIS, tune.default_space("linear"), "accuracy", "random", budget=3,
                                        cv_folds=2))
    study, _ = tune_impl.load_study(name, worker=None)
    ahead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    study.set_user_attr("worker:!ahead", {"host": socket.gethostname(), "pid": ahead.pid, "state": "running",
                                          "seen": datetime.now(timezone.utc).isoformat(), "capped": False})
    study.ask().set_user_attr("worker", f"{socket.gethostname()}:{ahead.pid}")     # its trial, running
    threading.Timer(3.0, lambda: (ahead.kill(), ahead.wait())).start()
    assert tune.run_worker(name) == 2            # one trial, a wait for the slot kept for the other, then that slot
    status = tune.study_status(name)
    assert [t.state.name for t in status.trials] == ["FAIL", "COMPLETE", "COMPLETE"] and status.done
