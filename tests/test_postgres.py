"""The run store, tuning workers and background jobs on PostgreSQL (MODELDECK_DB_URL = postgresql+psycopg://…).

Each test gets a new database on the cluster of `pg_cluster` (tests/conftest.py: MODELDECK_TEST_PG_URL from
.ci/run, or a throwaway cluster; skipped with the reason without PostgreSQL, an error under CI=true).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from tests.pg import fresh_database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def pg_url(pg_cluster, tmp_path, monkeypatch):
    """A new PostgreSQL database as the run store of this test (MODELDECK_DB_URL), with its own MODELDECK_HOME."""
    name = f"modeldeck_{uuid.uuid4().hex[:12]}"
    url = fresh_database(pg_cluster, name)
    monkeypatch.setenv("MODELDECK_DB_URL", url)
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path / "home-a"))
    yield url
    engine = sa.create_engine(pg_cluster, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:       # FORCE: this process's cached engines still hold connections
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def wait_for(condition, timeout: float = 120.0, every: float = 0.2):
    deadline = time.time() + timeout
    while not (value := condition()):
        assert time.time() < deadline, "timed out"
        time.sleep(every)
    return value


def test_the_run_store_on_postgresql(pg_url):
    from core.data import PrepOptions, load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore
    from core.train import queue_run, train_model
    store = RunStore()
    assert store.engine.dialect.name == "postgresql" and store.url == pg_url
    iris, spec, prep = load_builtin("iris"), ModelSpec.create("linear"), PrepOptions()
    run = queue_run(store, iris, spec, prep, name="iris on pg")
    assert store.get(run.id).status == "queued" and store.get(run.id).created_at.tzinfo is not None
    store.mark_running(run.id)
    store.set_progress(run.id, 0.5, "half way", [{"epoch": 1, "loss": 0.5}])
    halfway = store.get(run.id)
    assert (halfway.status, halfway.progress, halfway.message, halfway.history) == \
        ("running", 0.5, "half way", [{"epoch": 1, "loss": 0.5}])

    trained = train_model(iris, spec, prep, cv_folds=2)
    done = store.finish(run.id, trained)
    assert done.status == "done" and done.progress == 1.0
    assert done.metrics["test"] == pytest.approx(trained.report.to_dict()["test"])
    assert done.model_types is not None and done.fingerprint == iris.fingerprint

    other = queue_run(store, iris, spec, prep, name="second")
    assert [r.id for r in store.list()] == [other.id, run.id]          # newest first
    assert [r.id for r in store.list(kind="train") if r.status == "done"] == [run.id]

    model = store.load_model(run.id)
    saved = store.load_predictions(run.id)          # the predictions the fitted model made, as stored
    assert set(saved) == {"train", "test", "oof"}
    assert np.array_equal(saved["test"].y_pred, trained.test_pred.y_pred)
    rows = iris.frame.drop(columns=[iris.target]).head(20)
    assert np.array_equal(model.predict(rows), trained.pipeline.predict(rows))

    store.rename(run.id, "renamed")
    assert store.get(run.id).name == "renamed"
    store.delete(other.id)
    assert [r.id for r in store.list()] == [run.id]


def _tune_worker(study: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "tune-worker", "--study", study], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})


def test_two_tune_workers_share_one_trial_budget_on_postgresql(pg_url):
    from core import tune
    budget = 24
    # the study is created once, before the workers start; uncapped workers then split its budget as they go
    name = tune.create_study(tune.TuneConfig("builtin:iris", tune.default_space("linear"), "accuracy", "tpe",
                                             budget=budget, cv_folds=2))
    procs = [_tune_worker(name), _tune_worker(name)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ran = [int(re.search(r"ran (\d+) trials", out).group(1)) for out in outputs]
    status = tune.study_status(name)
    assert sum(ran) == budget and status.n_finished == budget and status.n_running == 0
    assert [t.number for t in status.trials] == list(range(budget))
    assert status.n_complete == budget and status.done
    by_worker = [sorted(int(n) for n in re.findall(r"^trial (\d+) complete", out, re.M)) for out in outputs]
    assert sorted(by_worker[0] + by_worker[1]) == list(range(budget))     # every trial exactly once
    assert all(ran) and len(status.workers) == 2          # both took part (trials take seconds here, imports too)


def test_a_background_training_job_on_postgresql(pg_url):
    from core.data import PrepOptions, load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore
    from core.train import queue_run, start_background
    store = RunStore()
    iris = load_builtin("iris")
    run = queue_run(store, iris, ModelSpec.create("mlp", epochs=30), PrepOptions())
    pid = start_background(run.id)
    # the child process, with only the URL from its environment, writes progress and a heartbeat to PostgreSQL
    seen = wait_for(lambda: (r := store.get(run.id)).status != "queued" and r)
    assert seen.pid == pid and seen.heartbeat_at is not None
    finished = wait_for(lambda: (r := store.get(run.id)).finished and r)
    assert finished.status == "done", finished.error
    assert finished.history and finished.metrics["test"]["accuracy"] > 0.6
    assert store.load_model(run.id).predict(iris.frame.drop(columns=[iris.target]).head(3)).shape == (3,)
