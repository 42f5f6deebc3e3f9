"""The run store: one SQL row per run (SQLAlchemy; SQLite by default) plus an artifact folder.

Artifacts use safe formats only: the fitted pipeline through skops (loaded with an explicit list of
trusted types, never a blind unpickle) and predictions as a .npz of plain arrays (allow_pickle=False).
"""
from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import types
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from core.common import ModelDeckError, atomic_open, atomic_write, db_url, home


metadata = sa.MetaData()
runs_table = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False, default="train"),
    sa.Column("group_id", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),          # queued | running | done | failed
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("message", sa.Text, default=""),
    sa.Column("error", sa.Text),
    sa.Column("dataset_key", sa.String(200), nullable=False),
    sa.Column("dataset_name", sa.String(200), default=""),
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("task", sa.String(32)),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("prep_json", sa.Text, nullable=False),
    sa.Column("metrics_json", sa.Text),
    sa.Column("history_json", sa.Text),
    sa.Column("timings_json", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

STATUSES = ("queued", "running", "done", "failed")
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "core.", "builtins.", "collections.", "scipy.")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Run:
    id: str
    name: str
    status: str
    dataset_key: str
    dataset_name: str
    task: str | None
    spec: dict
    prep: dict
    created_at: datetime
    updated_at: datetime
    kind: str = "train"
    group_id: str | None = None
    progress: float = 0.0
    message: str = ""
    error: str | None = None
    fingerprint: str | None = None
    metrics: dict | None = None
    history: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    pid: int | None = None

    @property
    def model_title(self) -> str:
        from core.models import ModelSpec
        return ModelSpec.from_json(json.dumps(self.spec)).title(self.task or "classification")

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def _row_to_run(row) -> Run:
    loads = lambda text, default: json.loads(text) if text else default  # noqa: E731
    return Run(id=row.id, name=row.name, status=row.status, dataset_key=row.dataset_key,
               dataset_name=row.dataset_name or "", task=row.task, spec=loads(row.spec_json, {}),
               prep=loads(row.prep_json, {}), created_at=row.created_at, updated_at=row.updated_at, kind=row.kind,
               group_id=row.group_id, progress=row.progress or 0.0, message=row.message or "", error=row.error,
               fingerprint=row.fingerprint, metrics=loads(row.metrics_json, None), history=loads(row.history_json, []),
               timings=loads(row.timings_json, {}), pid=row.pid)


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, future=True)
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):   # concurrent readers while a background job writes
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=10000")
    metadata.create_all(engine)
    return engine


class RunStore:
    """Create, update, list, open, rename and delete runs; save and load their artifacts."""

    def __init__(self, url: str | None = None, artifact_root: Path | None = None):
        self.url = url or db_url()
        self.engine = _engine(self.url)
        self.artifact_root = artifact_root or home() / "runs"

    # ------------------------------------------------------------ records
    def create(self, *, name: str, dataset_key: str, dataset_name: str, task: str, spec_json: str, prep: dict,
               fingerprint: str | None = None, kind: str = "train", group_id: str | None = None,
               status: str = "queued") -> Run:
        run_id = uuid.uuid4().hex[:10]
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(runs_table.insert().values(
                id=run_id, name=name, kind=kind, group_id=group_id, status=status, progress=0.0, message="",
                dataset_key=dataset_key, dataset_name=dataset_name, fingerprint=fingerprint, task=task,
                spec_json=spec_json, prep_json=json.dumps(prep), created_at=now, updated_at=now))
        return self.get(run_id)

    def _update(self, run_id: str, **values) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(runs_table.update().where(runs_table.c.id == run_id)
                                  .values(updated_at=_now(), **values))
        if result.rowcount == 0:
            raise ModelDeckError(f"Run '{run_id}' does not exist (it may have been deleted).")

    def get(self, run_id: str) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(runs_table.select().where(runs_table.c.id == run_id)).first()
        if row is None:
            raise ModelDeckError(f"Run '{run_id}' was not found. It may have been deleted; pick another on the Runs page.")
        return _row_to_run(row)

    def list(self, limit: int = 500, kind: str | None = None) -> list[Run]:
        query = runs_table.select().order_by(runs_table.c.created_at.desc()).limit(limit)
        if kind:
            query = query.where(runs_table.c.kind == kind)
        with self.engine.connect() as conn:
            return [_row_to_run(r) for r in conn.execute(query)]

    def rename(self, run_id: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise ModelDeckError("A run name cannot be empty.")
        self._update(run_id, name=name[:200])

    def delete(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs_table.delete().where(runs_table.c.id == run_id))
        shutil.rmtree(self.folder(run_id, create=False), ignore_errors=True)

    def set_progress(self, run_id: str, fraction: float, message: str, history: list[dict] | None = None) -> None:
        values = {"status": "running", "progress": float(min(max(fraction, 0.0), 1.0)), "message": message[:500]}
        if history is not None:
            values["history_json"] = json.dumps(history)
        self._update(run_id, **values)

    def mark_running(self, run_id: str, pid: int | None = None) -> None:
        self._update(run_id, status="running", pid=pid or os.getpid(), message="Starting")

    def fail(self, run_id: str, error: str) -> None:
        self._update(run_id, status="failed", error=error[:2000], message="Failed")

    def finish(self, run_id: str, trained) -> Run:
        """Save the artifacts first, then flip the record to done in one transaction."""
        self.save_artifacts(run_id, trained)
        return self.complete(run_id, trained.report.to_dict(), trained.timings(), trained.history, trained.fingerprint)

    def complete(self, run_id: str, metrics: dict, timings: dict | None = None, history: list[dict] | None = None,
                 fingerprint: str | None = None) -> Run:
        """Flip a run to done with its metrics, once the caller has written its artifacts into folder(run_id)."""
        self._update(run_id, status="done", progress=1.0, message="Done", fingerprint=fingerprint,
                     metrics_json=json.dumps(metrics), history_json=json.dumps(history or []),
                     timings_json=json.dumps(timings or {}))
        return self.get(run_id)

    def mark_orphans_failed(self) -> int:
        """Runs left 'running' by a process that no longer exists are marked failed (never half-done)."""
        count = 0
        for run in self.list(kind=None):
            if run.status == "running" and run.pid and not pid_alive(run.pid):
                self.fail(run.id, "The training process stopped unexpectedly.")
                count += 1
        return count

    # ------------------------------------------------------------ artifacts
    def folder(self, run_id: str, create: bool = True) -> Path:
        path = self.artifact_root / run_id
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path

    def save_artifacts(self, run_id: str, trained) -> None:
        import skops.io as sio
        folder = self.folder(run_id)
        atomic_write(folder / "model.skops", sio.dumps(trained.pipeline))
        with atomic_open(folder / "predictions.npz") as handle:
            np.savez_compressed(handle, **_prediction_arrays(trained))

    def load_model(self, run_id: str):
        import skops.io as sio
        path = self.folder(run_id, create=False) / "model.skops"
        if not path.exists():
            raise ModelDeckError(f"Run '{run_id}' has no saved model (it may still be running or have failed).")
        untrusted = sio.get_untrusted_types(file=path)
        unsafe = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if unsafe:
            raise ModelDeckError(f"The saved model of run '{run_id}' contains types ModelDeck does not trust: {unsafe}.")
        _alias_moved_modules(untrusted)
        return sio.load(path, trusted=untrusted)

    def load_predictions(self, run_id: str) -> dict:
        """{'train': Predictions, 'test': Predictions} from the run's arrays."""
        from core.evaluate import Predictions
        path = self.folder(run_id, create=False) / "predictions.npz"
        if not path.exists():
            raise ModelDeckError(f"Run '{run_id}' has no saved predictions.")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        labels = arrays["labels"].tolist() if "labels" in arrays else None
        return {part: Predictions(arrays[f"{part}_y_true"], arrays[f"{part}_y_pred"],
                                  arrays.get(f"{part}_proba"), labels) for part in ("train", "test")}


# Classes that moved when core/ became one package per capability. skops records a class by the module it lived in
# when the run was saved; these old paths are mapped onto the classes' new homes so older runs still open.
_MOVED_CLASSES = {"core.prep": ("core.data", ("IQRClipper",))}


def _alias_moved_modules(type_names: list[str]) -> None:
    for old, (new, names) in _MOVED_CLASSES.items():
        if old not in sys.modules and any(name.startswith(old + ".") for name in type_names):
            module, home = types.ModuleType(old), importlib.import_module(new)
            for name in names:
                setattr(module, name, getattr(home, name))
            sys.modules[old] = module


def _prediction_arrays(trained) -> dict[str, np.ndarray]:
    arrays = {}
    for part, pred in (("train", trained.train_pred), ("test", trained.test_pred)):
        string_like = pred.labels is not None
        arrays[f"{part}_y_true"] = np.asarray(pred.y_true, dtype=str if string_like else float)
        arrays[f"{part}_y_pred"] = np.asarray(pred.y_pred, dtype=str if string_like else float)
        if pred.proba is not None:
            arrays[f"{part}_proba"] = np.asarray(pred.proba, dtype=float)
    if trained.test_pred.labels is not None:
        arrays["labels"] = np.asarray(trained.test_pred.labels, dtype=str)
    return arrays


def pid_alive(pid: int) -> bool:
    """Whether a process (on this machine) still runs; a zombie (exited, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def save_trained(store: RunStore, trained, dataset_name: str, name: str | None = None,
                 group_id: str | None = None) -> Run:
    """Record an in-process training as a finished run."""
    run = store.create(name=name or f"{trained.title} on {dataset_name}", dataset_key=trained.dataset_key,
                       dataset_name=dataset_name, task=trained.task, spec_json=trained.spec.to_json(),
                       prep=trained.prep.to_dict(), fingerprint=trained.fingerprint, group_id=group_id,
                       status="running")
    try:
        return store.finish(run.id, trained)
    except Exception as exc:
        store.fail(run.id, f"Saving failed: {exc}")
        raise
