"""The run store under concurrency and attack (issue 12): schemas created once when processes start together (SQLite
and PostgreSQL), old stores migrated, exactly the recorded skops types, share tokens, heartbeats."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.pg import fresh_database, postgres_url

ROOT = Path(__file__).resolve().parents[1]
LEGACY_HOME = ROOT / "tests" / "fixtures" / "legacy_home"

# Each process waits for the same instant, then opens the database (run tables and Optuna's) and writes to it.
STARTER = textwrap.dedent("""
    import sys, time
    url, start, root, i = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    time.sleep(max(start - time.time(), 0))
    from core.runs import RunStore, prepare_database
    prepare_database(url, optuna=True)
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(storage=url, study_name=f"s{i}")
    store = RunStore(url, artifact_root=__import__("pathlib").Path(root))
    store.create(name=f"run {i}", dataset_key="builtin:iris", dataset_name="Iris", task="classification",
                 spec_json="{}", prep={}, status="done")
""")


def _start_together(url: str, root: Path, n: int) -> list[subprocess.CompletedProcess]:
    start = time.time() + 8.0          # after every interpreter has imported SQLAlchemy
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, url, str(start), str(root), str(i)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    return [(p, *p.communicate(timeout=300)) for p in procs]


def _assert_all_started(results, url: str, n: int) -> None:
    for proc, _out, err in results:
        assert proc.returncode == 0, err[-3000:]
    import optuna
    import sqlalchemy as sa
    assert len(optuna.get_all_study_summaries(storage=url)) == n
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == n
        assert conn.execute(sa.text("SELECT count(*) FROM version_info")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_eight_processes_open_a_new_sqlite_store_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    _assert_all_started(_start_together(url, tmp_path / "runs", 8), url, 8)
    with sqlite3.connect(tmp_path / "shared.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_connections_wait_for_a_writer_instead_of_failing(tmp_path):
    """The busy timeout: a second writer waits for a held write lock (here 1.5 s) instead of 'database is locked'."""
    from core.runs import RunStore
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    store = RunStore(url, artifact_root=tmp_path)
    holder = textwrap.dedent(f"""
        import sqlite3, time
        conn = sqlite3.connect({str(tmp_path / 'busy.db')!r}, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE"); print("locked", flush=True); time.sleep(1.5); conn.execute("COMMIT")
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    run = store.create(name="waits", dataset_key="builtin:iris", dataset_name="Iris", task="classification",
                       spec_json="{}", prep={})
    proc.wait(timeout=30)
    assert store.get(run.id).name == "waits"


@pytest.mark.skipif(postgres_url() is None, reason="PostgreSQL (initdb, pg_ctl) or psycopg is not installed")
def test_the_same_code_on_postgresql(tmp_path):
    url = fresh_database(postgres_url(), "modeldeck_concurrency")
    _assert_all_started(_start_together(url, tmp_path / "runs", 6), url, 6)
    from core.runs import RunStore
    store = RunStore(url, artifact_root=tmp_path / "runs", owner="user:ana")
    run = store.create(name="on pg", dataset_key="builtin:iris", dataset_name="Iris", task="classification",
                       spec_json="{}", prep={})
    token = store.create_share(run.id, "user:ana")
    assert store.shared_run_id(token) == run.id and store.get(run.id).owner == "user:ana"


# ---------------------------------------------------------------- old stores keep opening
def test_an_old_store_gains_the_new_columns_and_its_runs_stay_everyones(tmp_path):
    home = tmp_path / "legacy"
    shutil.copytree(LEGACY_HOME, home)
    from core.runs import RunStore
    store = RunStore(f"sqlite:///{home / 'modeldeck.db'}", artifact_root=home / "runs")
    runs = store.list(visible_to="browser:someone")
    assert len(runs) == 3 and all(r.owner is None and r.model_types is None for r in runs)
    with sqlite3.connect(home / "modeldeck.db") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    assert {"owner", "host", "heartbeat_at", "model_types_json"} <= columns
    assert all(store.load_model(r.id) is not None for r in runs)


# ---------------------------------------------------------------- skops: exactly the recorded types
def _trained_run(store, family="mlp", **params):
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import save_trained
    from core.train import train_model
    ds = load_builtin("iris")
    return save_trained(store, train_model(ds, ModelSpec.create(family, **params), cv_folds=0), ds.name)


def test_skops_loads_only_the_types_recorded_at_save_time(tmp_path):
    import sqlalchemy as sa
    from core.common import ModelDeckError
    from core.runs import RunStore
    store = RunStore(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=tmp_path / "runs")
    run = _trained_run(store, "mlp", epochs=3)
    assert run.model_types == ["core.models.torch_mlp.TorchMLPClassifier", "numpy.dtype"]
    assert store.load_model(run.id).predict is not None
    # another run's file, needing a type this run never recorded, is refused
    forest = _trained_run(store, "random_forest", n_estimators=10)
    shutil.copy(store.folder(forest.id) / "model.skops", store.folder(run.id) / "model.skops")
    with pytest.raises(ModelDeckError, match="sklearn.tree._tree.Tree"):
        store.load_model(run.id)
    # a record cannot be widened by prefix: only exact names count
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET model_types_json = :t WHERE id = :i"),
                     {"t": json.dumps(["sklearn.", "core.", "numpy."]), "i": run.id})
    with pytest.raises(ModelDeckError, match="not recorded"):
        store.load_model(run.id)


def test_a_legacy_file_with_a_type_outside_the_legacy_list_is_refused(tmp_path):
    """A run without a record is held to LEGACY_TYPES: builtins or os types are never accepted."""
    import skops.io as sio
    from core.common import ModelDeckError
    from core.runs import RunStore
    store = RunStore(f"sqlite:///{tmp_path / 'l.db'}", artifact_root=tmp_path / "runs")
    run = store.create(name="old", dataset_key="builtin:iris", dataset_name="Iris", task="classification",
                       spec_json="{}", prep={}, status="done")
    from collections import Counter
    (store.folder(run.id) / "model.skops").write_bytes(sio.dumps({"steps": Counter("ab")}))
    with pytest.raises(ModelDeckError, match="collections.Counter"):
        store.load_model(run.id)


# ---------------------------------------------------------------- share links
def test_share_tokens_open_one_run_until_revoked(tmp_path):
    from core.runs import RunStore
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}", artifact_root=tmp_path / "runs", owner="user:ana")
    a = store.create(name="a", dataset_key="k", dataset_name="K", task="classification", spec_json="{}", prep={})
    b = store.create(name="b", dataset_key="k", dataset_name="K", task="classification", spec_json="{}", prep={})
    token_a, token_b = store.create_share(a.id, "user:ana"), store.create_share(a.id, "user:ana")
    assert token_a != token_b and len(token_a) >= 32
    assert store.shared_run_id(token_a) == a.id and store.shared_run_id(token_b) == a.id
    assert store.shared_run_id(token_a[:-1]) is None and store.shared_run_id("") is None
    assert store.shared_run_id(b.id) is None
    with store.engine.connect() as conn:          # the database holds hashes, never a usable token
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM share_links"))
    assert token_a not in dump and token_b not in dump
    assert store.revoke_share(a.id, token_a) == 1
    assert store.shared_run_id(token_a) is None and store.shared_run_id(token_b) == a.id
    assert [link.active for link in store.share_links(a.id)].count(True) == 1
    store.delete(a.id)
    assert store.shared_run_id(token_b) is None and store.share_links(a.id) == []


def test_listing_by_owner(tmp_path):
    from core.runs import RunStore
    base = RunStore(f"sqlite:///{tmp_path / 'o.db'}", artifact_root=tmp_path / "runs")
    made = {}
    for owner in ("user:ana", "user:bo", None):
        made[owner] = base.as_owner(owner).create(name=str(owner), dataset_key="k", dataset_name="K",
                                                  task="classification", spec_json="{}", prep={})
    assert {r.name for r in base.list(visible_to="user:ana")} == {"user:ana", "None"}
    assert {r.name for r in base.list(visible_to="user:bo")} == {"user:bo", "None"}
    assert len(base.list()) == 3 and base.owner is None


# ---------------------------------------------------------------- heartbeats
def test_a_run_whose_heartbeat_stopped_reads_failed_wherever_it_ran(tmp_path, monkeypatch):
    import sqlalchemy as sa
    from core.runs import RunStore
    from core.runs import _heartbeat
    store = RunStore(f"sqlite:///{tmp_path / 'h.db'}", artifact_root=tmp_path / "runs", stale_after_s=2)
    run = store.create(name="remote", dataset_key="k", dataset_name="K", task="classification", spec_json="{}",
                       prep={})
    with store.engine.begin() as conn:     # a job on another machine (its pid means nothing here)
        conn.execute(sa.text("UPDATE runs SET status='running', host='elsewhere', pid=1 WHERE id=:i"), {"i": run.id})
    assert store.get(run.id).status == "running"
    time.sleep(2.5)
    stale = store.get(run.id)
    assert stale.status == "failed" and "No heartbeat" in stale.error and "elsewhere" in stale.error
    assert store.mark_orphans_failed() == 1
    restarted = store.restart(run.id)
    assert restarted.status == "queued" and restarted.error is None
    monkeypatch.setattr(_heartbeat, "HEARTBEAT_S", 0.2)
    with store.job("compress", run.id, every=0.2) as job:
        assert job.status == "running"
        time.sleep(3)                     # longer than stale_after_s: the beat keeps it alive
        assert store.jobs(subject=run.id)[0].status == "running"
    assert store.jobs(subject=run.id)[0].status == "done"
    with pytest.raises(RuntimeError):
        with store.job("compress", run.id, every=0.2):
            raise RuntimeError("out of memory")
    last = store.jobs(subject=run.id)[0]
    assert last.status == "failed" and "out of memory" in last.error
