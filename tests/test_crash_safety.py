"""Crash safety (issue 12): a training job, a tuning worker and a compression job are SIGKILLed mid-way (real
subprocesses); the store stays consistent — the killed work reads 'failed' (at once on this machine, after the
heartbeat limit when the job ran elsewhere), the training run can be restarted, and earlier runs and results are
intact."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition, timeout: float = 180.0, every: float = 0.2):
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.time() < deadline, "timed out"
        time.sleep(every)


def kill(pid: int) -> None:
    """SIGKILL the job's whole process group (it was started in its own session), and reap it."""
    os.killpg(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


@contextmanager
def as_another_machine(monkeypatch):
    """Read the store as a process on another machine would: a job's pid means nothing there."""
    from core.runs import _heartbeat
    with monkeypatch.context() as patch:
        patch.setattr(_heartbeat, "HOST", "another-machine")
        yield


@pytest.fixture()
def earlier_run(fresh_home):
    """A finished random forest on iris, compressed once: what must come through every crash untouched."""
    from core.compress import compress_run, load_result
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_builtin("iris")
    store = RunStore()
    run = save_trained(store, train_model(ds, ModelSpec.create("random_forest", n_estimators=30), cv_folds=0), ds.name)
    from core.compress import CompressOptions
    compress_run(run.id, CompressOptions(onnx=False, shap_check=False, rounds=1, repeats=2), store=store)
    return run, load_result(run.id, store).to_json()


def assert_intact(run, result_json: str) -> None:
    from core.compress import load_result
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.runs import RunStore
    store = RunStore()
    again = store.get(run.id)
    assert again.status == "done" and again.metrics == run.metrics
    split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    stored = store.load_predictions(run.id)["test"]
    assert np.array_equal(store.load_model(run.id).predict(split.X_test).astype(str), stored.y_pred.astype(str))
    assert load_result(run.id, store).to_json() == result_json


@pytest.mark.timeout(600)
def test_a_killed_training_job_reads_failed_and_restarts(earlier_run, monkeypatch):
    from core.data import PrepOptions, load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore
    from core.train import queue_run, start_background
    run, result_json = earlier_run
    store = RunStore()
    ds = load_builtin("digits")
    job = queue_run(store, ds, ModelSpec.create("mlp", epochs=300, early_stopping=False), PrepOptions())
    pid = start_background(job.id)
    store.mark_running(job.id, pid)
    first = wait_until(lambda: (r := store.get(job.id)).progress > 0.02 and r)
    wait_until(lambda: store.get(job.id).heartbeat_at > first.heartbeat_at)       # it beats while it works
    kill(pid)
    here = store.get(job.id)
    assert here.status == "failed" and "is gone" in here.error
    with as_another_machine(monkeypatch):          # elsewhere only the heartbeat tells: after the stated limit
        remote = RunStore(stale_after_s=3)
        assert remote.get(job.id).status == "running"
        time.sleep(3.5)
        assert remote.get(job.id).status == "failed" and "No heartbeat" in remote.get(job.id).error
        assert remote.mark_orphans_failed() == 1
    assert not (store.folder(job.id) / "model.skops").exists()     # never half-written: no model, no metrics
    assert store.get(job.id).metrics is None
    assert_intact(run, result_json)
    restarted = store.restart(job.id)
    assert restarted.status == "queued" and restarted.error is None


@pytest.mark.timeout(600)
def test_a_killed_compression_job_leaves_the_earlier_result(earlier_run, monkeypatch):
    from core.runs import RunStore
    run, result_json = earlier_run
    store = RunStore()
    proc = subprocess.Popen([sys.executable, "-m", "core", "compress", "--run", run.id], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    job = wait_until(lambda: next((j for j in store.jobs(subject=run.id) if j.status == "running"
                                   and j.pid == proc.pid), None))
    wait_until(lambda: (store.folder(run.id) / "compress.tmp").exists())       # mid-way: variants being built
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = next(j for j in store.jobs(subject=run.id) if j.id == job.id)
    assert killed.status == "failed" and "is gone" in killed.error
    with as_another_machine(monkeypatch):
        assert next(j for j in RunStore(stale_after_s=60).jobs(subject=run.id) if j.id == job.id).status == "running"
        time.sleep(2.5)
        assert next(j for j in RunStore(stale_after_s=2).jobs(subject=run.id) if j.id == job.id).status == "failed"
    assert_intact(run, result_json)


@pytest.mark.timeout(600)
def test_a_killed_tuning_worker_leaves_a_consistent_study(earlier_run, monkeypatch):
    from core import tune
    from core.tune import _storage
    monkeypatch.setattr(_storage, "GRACE_S", 4)      # declare a silent trial lost after 4 s (20 s in the app)
    from core.tune import Dim, SearchSpace, TuneConfig
    run, result_json = earlier_run
    space = SearchSpace("mlp", (Dim("lr", "float", 1e-3, 1e-1, log=True),),
                        {"hidden": "32", "epochs": 400, "early_stopping": False, "batch_size": 128})
    name = tune.create_study(TuneConfig("builtin:iris", space, "accuracy", "random", budget=20, cv_folds=2))
    proc = subprocess.Popen([sys.executable, "-m", "core", "tune-worker", "--study", name], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    wait_until(lambda: tune.study_status(name).n_complete >= 1 and any(
        t.state.name == "RUNNING" for t in tune.study_status(name).trials))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = [(t.number, t.value) for t in tune.study_status(name).trials if t.state.name == "COMPLETE"]
    status = wait_until(lambda: (s := tune.study_status(name)).n_running == 0 and s, timeout=120, every=1.0)
    assert not status.active, "a killed worker still counts as running"
    assert status.n_failed == 1                       # its trial in progress, marked failed (Optuna's heartbeat)
    assert [(t.number, t.value) for t in status.trials if t.state.name == "COMPLETE"] == done_before
    from core.runs import RunStore
    worker_job = next(j for j in RunStore().jobs(subject=name, kind="tune-worker"))
    assert worker_job.status == "failed" and worker_job.pid == proc.pid       # its heartbeat row tells too
    assert_intact(run, result_json)
