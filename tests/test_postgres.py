"""The run store, tuning workers and background jobs on PostgreSQL (MODELDECK_DB_URL = postgresql+psycopg://…).

Each test gets a new database on the cluster of `pg_cluster` (tests/conftest.py: MODELDECK_TEST_PG_URL from
.ci/run, or a throwaway cluster; skipped with the reason without PostgreSQL, an error under CI=true).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from tests.pg import fresh_database
from tests.test_jobs import wait_for

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


# ---------------------------------------------------------------- a shared store that really is shared
def _home(path: Path, monkeypatch) -> Path:
    """Act as a machine whose MODELDECK_HOME is `path` (the database URL stays the same)."""
    path.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("MODELDECK_HOME", str(path))
    return path


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_second_machine_with_only_the_url_opens_everything(pg_url, tmp_path, monkeypatch):
    from core import explain as ex
    from core import tune
    from core.compress import CompressOptions, artifact_path, compress_run, load_result
    from core.data import PrepOptions, list_uploads, load_builtin, load_dataset, make_dataset, save_upload, split_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    # machine A: an upload, a run trained on it, its explanation and its compression, a study on the upload
    iris = load_builtin("iris").frame
    frame = iris.assign(petal_ratio=iris["petal length (cm)"] / iris["petal width (cm)"])
    key = save_upload(make_dataset(frame, "species", name="Iris with a ratio"))
    upload = load_dataset(key)
    store_a = RunStore()
    trained = train_model(upload, ModelSpec.create("random_forest", n_estimators=20), cv_folds=0)
    run = save_trained(store_a, trained, upload.name)
    split = split_dataset(upload, PrepOptions.from_dict(run.prep))
    expl = ex.explain_split(ex.ShapEngine(trained.pipeline, split.X_train, run.task, upload.target), split,
                            max_rows=30)
    ex.save_explanation(expl, ex.explanation_stem(store_a.folder(run.id), expl.method, 30, 0))
    table = compress_run(run.id, CompressOptions(shap_check=False, rounds=1, repeats=2), store=store_a)
    onnx_file = next(r["onnx_file"] for r in table.rows if r.get("onnx_file"))
    study = tune.create_study(tune.TuneConfig(key, tune.default_space("linear"), "accuracy", "random", budget=4,
                                              cv_folds=2))
    home_a = Path(os.environ["MODELDECK_HOME"])

    # machine B: an empty MODELDECK_HOME and the same MODELDECK_DB_URL
    home_b = _home(tmp_path / "home-b", monkeypatch)
    assert not _files(home_b)
    assert list_uploads() == {key: "Iris with a ratio (uploaded)"}
    again = load_dataset(key)
    assert again.frame.equals(upload.frame) and again.column_types == upload.column_types
    store_b = RunStore()
    assert store_b.artifact_root == home_b / "runs" and store_b.get(run.id).status == "done"
    rows = split.X_test.head(10)
    assert np.array_equal(store_b.load_model(run.id).predict_proba(rows), trained.pipeline.predict_proba(rows))
    assert np.array_equal(store_b.load_predictions(run.id)["test"].y_pred, trained.test_pred.y_pred)
    seen = ex.latest_explanation(store_b.folder(run.id), split)
    assert seen is not None and np.array_equal(seen.values, expl.values)
    assert load_result(run.id, store_b).to_json() == table.to_json()
    assert artifact_path(run.id, onnx_file, store_b).read_bytes() == \
        (home_a / "runs" / run.id / "compress" / onnx_file).read_bytes()
    assert _files(home_b / "runs" / run.id) == _files(home_a / "runs" / run.id) - {"job.log"}
    # … and joins the study on the uploaded data set from a worker process of its own
    proc = subprocess.run([sys.executable, "-m", "core", "tune-worker", "--study", study], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ran 4 trials" in proc.stdout and tune.study_status(study).n_complete == 4

    # deleting the run on B deletes it for everyone: A's cache is all that is left, and it is not brought back
    store_b.delete(run.id)
    assert not (home_b / "runs" / run.id).exists()
    with sa.create_engine(pg_url).connect() as conn:
        keys = conn.execute(sa.text("SELECT key FROM blobs")).scalars().all()
    assert keys and all(not k.startswith(f"runs/{run.id}/") for k in keys)


def test_a_second_machine_lists_and_opens_the_uploaded_image_sets(pg_url, tmp_path, monkeypatch):
    from core.data import image_set_options, load_dataset, make_image_dataset, save_image_upload
    pictures = np.random.default_rng(0).integers(0, 256, (12, 6, 6)).astype(np.uint8)
    shapes = make_image_dataset(pictures, ["round", "square"] * 6, name="Shapes")
    key = save_image_upload(shapes, owner="ann")                         # machine A
    _home(tmp_path / "home-b", monkeypatch)                              # machine B: only the URL
    assert image_set_options(owner="ann")[key] == "Shapes (uploaded images)"
    assert key not in image_set_options(owner="bob")                     # the owners travel with it
    again = load_dataset(key)
    assert again.image_shape == (6, 6) and again.frame.equals(shapes.frame)


def test_files_in_parts_newer_versions_and_work_folders(pg_url, tmp_path, monkeypatch):
    from core.common import ModelDeckError, _blobs, atomic_write, fetch_shared, fetch_shared_tree
    monkeypatch.setattr(_blobs, "PART_BYTES", 1000)
    home_a = Path(os.environ["MODELDECK_HOME"])
    payload = np.random.default_rng(0).bytes(5500)
    atomic_write(home_a / "runs" / "r1" / "weights.bin", payload)              # 6 parts
    atomic_write(home_a / "runs" / "r1" / "compress.tmp" / "half.bin", b"work")    # a work folder: not stored
    atomic_write(home_a / "elsewhere" / "note.txt", "not a kept folder")
    with sa.create_engine(pg_url).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT key, parts FROM blobs")).all())
    assert stored == {"runs/r1/weights.bin": 6}

    home_b = _home(tmp_path / "home-b", monkeypatch)
    fetch_shared_tree(home_b / "runs" / "r1")
    copy = home_b / "runs" / "r1" / "weights.bin"
    assert _files(home_b) == {"runs/r1/weights.bin"} and copy.read_bytes() == payload
    assert copy.stat().st_mtime == pytest.approx((home_a / "runs" / "r1" / "weights.bin").stat().st_mtime)
    # B writes a new version: A's cache is brought up to date the next time A asks
    atomic_write(copy, b"second version")
    monkeypatch.setenv("MODELDECK_HOME", str(home_a))
    fetch_shared(home_a / "runs" / "r1" / "weights.bin")
    assert (home_a / "runs" / "r1" / "weights.bin").read_bytes() == b"second version"
    # the database takes a file before the folder does: when it cannot, the folder keeps the old file too
    def connection_lost(*_args):
        raise OSError("connection lost")
    monkeypatch.setattr(_blobs.BlobFolder, "_store", connection_lost)
    with pytest.raises(ModelDeckError, match="could not be saved in the shared database.*connection lost"):
        atomic_write(home_a / "runs" / "r1" / "weights.bin", b"third version")
    assert (home_a / "runs" / "r1" / "weights.bin").read_bytes() == b"second version"
    assert _files(home_a / "runs" / "r1") == {"weights.bin", "compress.tmp/half.bin"}     # no temporary file left


def test_an_uploaded_image_set_opens_on_the_second_machine(pg_url, tmp_path, monkeypatch):
    from core.data import load_dataset, make_image_dataset, save_image_upload
    pictures = np.random.default_rng(1).integers(0, 256, size=(12, 8, 8)).astype(float)
    key = save_image_upload(make_image_dataset(pictures, ["a", "b"] * 6, name="Twelve pictures"))
    first = load_dataset(key)
    _home(tmp_path / "home-b", monkeypatch)
    again = load_dataset(key)
    assert again.name == "Twelve pictures" and again.frame.equals(first.frame)


def test_with_sqlite_nothing_is_kept_twice(fresh_home):
    """One machine, the default: the files stay in the folder only, and the database holds no copies."""
    from core.data import load_builtin, make_dataset, save_upload
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    iris = load_builtin("iris")
    save_upload(make_dataset(iris.frame, iris.target))
    store = RunStore()
    save_trained(store, train_model(iris, ModelSpec.create("linear"), cv_folds=0), iris.name)
    assert store.url.startswith("sqlite") and store.artifacts.shared is None
    assert {"blobs", "blob_parts"}.isdisjoint(sa.inspect(store.engine).get_table_names())


def test_background_jobs_on_postgresql(pg_url):
    """The jobs table on PostgreSQL through the same code: a job's process reports and stores its result there,
    cancel before it starts, and the stale-heartbeat rule."""
    from datetime import timedelta

    from core.data import PrepOptions
    from core.jobs import start_job
    from core.runs import RunStore
    from core.runs._schema import jobs_table
    store = RunStore(owner="user:ann")
    assert store.engine.dialect.name == "postgresql"
    job = start_job(store, "leaderboard", "builtin:iris", {"dataset_key": "builtin:iris", "families": ["linear"],
                                                            "prep": PrepOptions().to_dict(), "cv_folds": 2})
    done = wait_for(lambda: (j := store.get_job(job.id)).finished and j, timeout=60)
    assert done.status == "done" and done.progress == 1.0 and done.owner == "user:ann", done.error
    (run_id,) = done.result["run_ids"]
    assert store.get(run_id).owner == "user:ann" and store.get(run_id).group_id == job.id
    assert [j.id for j in store.jobs(kind="leaderboard", subject="builtin:iris", owner="user:ann")] == [job.id]
    assert store.jobs(owner="user:bob") == []

    queued = store.queue_job("compress", run_id, {"run_id": run_id})
    assert store.request_cancel(queued.id).status == "cancelled"
    stale = store.queue_job("compress", run_id, {"run_id": run_id})
    with store.engine.begin() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.id == stale.id).values(
            status="running", host="elsewhere", heartbeat_at=stale.started_at - timedelta(seconds=600)))
    assert store.get_job(stale.id).status == "failed"


def _run_job_here(job_id: str) -> None:
    """Run a queued job the way a machine does (`python -m core job --id ID`), with this process's environment."""
    proc = subprocess.run([sys.executable, "-m", "core", "job", "--id", job_id], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_uploaded_interactions_and_a_recommender_build_travel_between_machines(pg_url, tmp_path, monkeypatch):
    from core.recsys import (SplitSpec, interactions_from_upload, load_interactions, load_saved, load_system,
                             save_recommendations, save_upload)
    from core.runs import RunStore
    events = "user,item,rating\n" + "".join(f"u{u},i{(u * 7 + j) % 40},{1 + (u + j) % 5}\n"
                                            for u in range(30) for j in range(8))
    features = "item_id,title,genres\n" + "".join(f"i{i},Title {i},{'Action|Drama' if i % 2 else 'Comedy'}\n"
                                                  for i in range(40))
    data = interactions_from_upload(events.encode(), "ratings.csv", features.encode(), "items.csv")
    key = save_upload(data)                                               # machine A: the upload, a queued build
    job = RunStore(owner="user:ann").queue_job("recommend", key, {"data_key": key,
                                                                  "split": SplitSpec(seed=1).to_dict()})
    home_b = _home(tmp_path / "home-b", monkeypatch)                     # machine B runs the build
    _run_job_here(job.id)
    done = RunStore().get_job(job.id)
    assert done.status == "done" and done.result["data_key"] == key, done.error
    assert _files(home_b / "recsys_uploads") == {f"{key.split(':', 1)[1]}/{n}"
                                                 for n in ("events.csv", "items.csv", "meta.json")}

    home_c = _home(tmp_path / "home-c", monkeypatch)                     # machine C: only the URL
    again = load_interactions(key)
    assert again.fingerprint == data.fingerprint and again.items["categories"].tolist() == \
        data.items["categories"].tolist()
    store_c = RunStore()
    system = load_system(store_c.job_folder(job.id, create=False))       # what B built, without training
    assert system.data.fingerprint == data.fingerprint
    assert _files(home_c / "runs" / f"job-{job.id}") == _files(home_b / "runs" / f"job-{job.id}") \
        == {"system.json", "system.npz"}
    built_on_b = load_system(home_b / "runs" / f"job-{job.id}", data)
    assert system.table(5).equals(built_on_b.table(5))
    run = save_recommendations(store_c, system, user=0, k=5)             # C saves one user's lists as a run …
    _home(tmp_path / "home-a", monkeypatch)
    saved = load_saved(RunStore(), run.id)                               # … which A reads from the database
    assert saved["user"] == str(data.user_ids[0]) and set(saved["lists"]) == set(system.models)


def test_a_failed_jobs_log_is_read_on_another_machine(pg_url, tmp_path, monkeypatch):
    from core.runs import RunStore
    job = RunStore().queue_job("leaderboard", "builtin:iris", {"dataset_key": "builtin:iris"})   # no "prep"
    home_b = _home(tmp_path / "home-b", monkeypatch)
    store_b = RunStore()
    store_b.launch_job(job.id)                                            # B runs it: its log is on B's disk
    failed = wait_for(lambda: (j := store_b.get_job(job.id)).finished and j, timeout=60)
    assert failed.status == "failed" and failed.error == "Unexpected error: KeyError: 'prep'"
    assert "Traceback" in (home_b / "jobs" / f"{job.id}.log").read_text()
    _home(tmp_path / "home-a", monkeypatch)                               # A has no log file of it
    assert not (tmp_path / "home-a" / "jobs" / f"{job.id}.log").exists()
    text = RunStore().job_log_text(job.id)
    assert "Traceback" in text and "p[\"prep\"]" in text and text.rstrip().endswith("KeyError: 'prep'")


def test_names_and_units_labels_follow_their_owner_to_another_machine(pg_url, tmp_path, monkeypatch):
    from core.data import load_class_names, load_labels, save_class_names, save_labels
    columns = ["tenure_months", "monthly_charges", "churned"]
    save_labels("builtin:churn", {"monthly_charges": ("monthly fee", "EUR")}, columns, owner="user:ann")   # A
    _home(tmp_path / "home-b", monkeypatch)                               # B: only the URL
    assert load_labels("builtin:churn", "user:ann")["monthly_charges"] == ("monthly fee", "EUR")
    assert load_labels("builtin:churn", "user:bob")["monthly_charges"] == ("monthly bill", "USD")   # defaults
    save_class_names("builtin:churn", {"1": "left", "0": "stayed"}, [0, 1], owner="user:ann")      # B edits
    _home(tmp_path / "home-a", monkeypatch)                               # A sees B's edit, its labels kept
    assert load_class_names("builtin:churn", "user:ann") == {"1": "left", "0": "stayed"}
    assert load_labels("builtin:churn", "user:ann")["monthly_charges"] == ("monthly fee", "EUR")
    assert load_class_names("builtin:churn", "user:bob") == {}
