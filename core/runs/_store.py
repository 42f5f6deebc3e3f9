"""The run store: one SQL row per run (SQLAlchemy; SQLite by default) plus an artifact folder.

Artifacts use safe formats only: the fitted pipeline through skops (loaded with exactly the types recorded when it
was written, never a blind unpickle) and predictions as a .npz of plain arrays (allow_pickle=False). A run belongs
to its owner (NULL for runs made before ownership, or from the command line); a job's process beats on its row.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from core.common import ModelDeckError, atomic_open, atomic_write, db_url, home
from core.runs._artifacts import RunArtifacts
from core.runs._jobs import BackgroundJobs
from core.runs._heartbeat import HOST, STALE_AFTER_S, Beat, JobBeats, stopped_reason
from core.runs._schema import engine_for, jobs_table, runs_table
from core.runs._shares import ShareLinks
from core.runs._skops import dump_pipeline, load_pipeline

STATUSES = ("queued", "running", "done", "failed")


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
    owner: str | None = None
    host: str | None = None
    heartbeat_at: datetime | None = None
    model_types: list[str] | None = None

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
               timings=loads(row.timings_json, {}), pid=row.pid, owner=row.owner, host=row.host,
               heartbeat_at=row.heartbeat_at, model_types=loads(row.model_types_json, None))


class RunStore(ShareLinks, JobBeats, BackgroundJobs):
    """Create, update, list, open, rename and delete runs; save and load their artifacts; share links (ShareLinks)
    background jobs' heartbeats (JobBeats) and the jobs started from the pages (BackgroundJobs).

    `owner` is who acts through this store: the runs it creates are theirs (`as_owner` gives such a view of a
    shared store). A run left 'running' by a job that stopped beating for `stale_after_s` seconds reads 'failed'.
    """

    def __init__(self, url: str | None = None, artifact_root: Path | None = None, *, owner: str | None = None,
                 stale_after_s: float = STALE_AFTER_S):
        self.url = url or db_url()
        self.engine = engine_for(self.url)
        self.artifact_root = artifact_root or home() / "runs"
        self.artifacts = RunArtifacts(self.url, self.artifact_root)   # also in the database when it is shared
        self.owner, self.stale_after_s = owner, stale_after_s

    def as_owner(self, owner: str | None) -> "RunStore":
        """The same store acting for `owner` (cheap: the engine is shared)."""
        view = object.__new__(RunStore)
        view.__dict__.update(self.__dict__, owner=owner)
        return view

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
                spec_json=spec_json, prep_json=json.dumps(prep), created_at=now, updated_at=now,
                owner=self.owner, host=HOST, pid=os.getpid() if status == "running" else None, heartbeat_at=now))
        return self.get(run_id)

    def _update(self, run_id: str, **values) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(runs_table.update().where(runs_table.c.id == run_id)
                                  .values(updated_at=_now(), **values))
        if result.rowcount == 0:
            raise ModelDeckError(f"Run '{run_id}' does not exist (it may have been deleted).")

    def get(self, run_id: str) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(runs_table.select().where(runs_table.c.id == str(run_id)[:32])).first()
        if row is None:
            raise ModelDeckError(f"Run '{run_id}' was not found. It may have been deleted; pick another on the Runs page.")
        return self._judged(_row_to_run(row))

    _EVERYONE = object()

    def list(self, limit: int = 500, kind: str | None = None, visible_to=_EVERYONE) -> list[Run]:
        """Runs newest first; with `visible_to`, only that owner's runs and the runs that belong to no one."""
        query = runs_table.select().order_by(runs_table.c.created_at.desc()).limit(limit)
        if kind:
            query = query.where(runs_table.c.kind == kind)
        if visible_to is not RunStore._EVERYONE:
            query = query.where(sa.or_(runs_table.c.owner.is_(None), runs_table.c.owner == visible_to))
        with self.engine.connect() as conn:
            return [self._judged(_row_to_run(r)) for r in conn.execute(query)]

    def _judged(self, run: Run) -> Run:
        """A run whose job stopped (no heartbeat for stale_after_s, or its process gone on this machine) reads
        'failed' with the reason, wherever the job ran."""
        if run.status in ("queued", "running"):
            reason = stopped_reason(run.host, run.pid, run.heartbeat_at or run.updated_at, self.stale_after_s)
            if reason:
                run.status, run.message, run.error = "failed", "Stopped", f"The job stopped: {reason}"
        return run

    def rename(self, run_id: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise ModelDeckError("A run name cannot be empty.")
        self._update(run_id, name=name[:200])

    def delete(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs_table.delete().where(runs_table.c.id == run_id))
            conn.execute(jobs_table.delete().where(jobs_table.c.subject == run_id))
            self._delete_shares(conn, run_id)
        self.artifacts.remove(run_id)

    def set_progress(self, run_id: str, fraction: float, message: str, history: list[dict] | None = None) -> None:
        values = {"status": "running", "progress": float(min(max(fraction, 0.0), 1.0)), "message": message[:500],
                  "heartbeat_at": _now()}
        if history is not None:
            values["history_json"] = json.dumps(history)
        self._update(run_id, **values)

    def mark_running(self, run_id: str, pid: int | None = None) -> None:
        """The run's job runs in process `pid` on this machine (default: this process). Called by the job's own
        process, it also starts the heartbeat that lasts until this store finishes or fails the run."""
        pid = pid or os.getpid()
        self._update(run_id, status="running", pid=pid, host=HOST, message="Starting", heartbeat_at=_now())
        if pid == os.getpid():
            self._stop_beat(run_id)
            _BEATS[run_id] = Beat(lambda: self.beat(run_id))

    def beat(self, run_id: str) -> None:
        """A sign of life from the run's job (kept off runs that already ended)."""
        with self.engine.begin() as conn:
            conn.execute(runs_table.update().where(runs_table.c.id == run_id)
                         .where(runs_table.c.status.in_(("queued", "running"))).values(heartbeat_at=_now()))

    def _stop_beat(self, run_id: str) -> None:
        beat = _BEATS.pop(run_id, None)
        if beat is not None:
            beat.stop()

    def restart(self, run_id: str) -> Run:
        """Queue a failed training run again (same data, cleaning and model); the caller starts its job."""
        run = self.get(run_id)
        if run.status != "failed" or run.kind != "train":
            raise ModelDeckError(f"Only a failed training run can be restarted; run '{run.id}' is {run.status}.")
        self._update(run_id, status="queued", progress=0.0, error=None, message="Restarting", pid=None, host=HOST,
                     heartbeat_at=_now())
        return self.get(run_id)

    def fail(self, run_id: str, error: str) -> None:
        self._stop_beat(run_id)
        self._update(run_id, status="failed", error=error[:2000], message="Failed")

    def finish(self, run_id: str, trained) -> Run:
        """Save the artifacts first, then flip the record to done in one transaction."""
        self.save_artifacts(run_id, trained)
        return self.complete(run_id, trained.report.to_dict(), trained.timings(), trained.history, trained.fingerprint)

    def complete(self, run_id: str, metrics: dict, timings: dict | None = None, history: list[dict] | None = None,
                 fingerprint: str | None = None) -> Run:
        """Flip a run to done with its metrics, once the caller has written its artifacts into folder(run_id)."""
        self._stop_beat(run_id)
        self._update(run_id, status="done", progress=1.0, message="Done", fingerprint=fingerprint,
                     metrics_json=json.dumps(metrics), history_json=json.dumps(history or []),
                     timings_json=json.dumps(timings or {}))
        return self.get(run_id)

    def mark_orphans_failed(self) -> int:
        """Write 'failed' on runs whose job stopped (see `_judged`): never half-done, wherever the job ran."""
        with self.engine.connect() as conn:
            rows = conn.execute(runs_table.select().where(runs_table.c.status.in_(("queued", "running")))).all()
        count = 0
        for row in rows:
            run = self._judged(_row_to_run(row))
            if run.status == "failed":
                with self.engine.begin() as conn:   # only if it has not moved on meanwhile
                    count += conn.execute(runs_table.update().where(runs_table.c.id == run.id)
                                          .where(runs_table.c.updated_at == row.updated_at)
                                          .values(status="failed", error=run.error, message="Failed",
                                                  updated_at=_now())).rowcount
        return count

    # ------------------------------------------------------------ artifacts
    def folder(self, run_id: str, create: bool = True) -> Path:
        return self.artifacts.folder(run_id, create)

    def save_artifacts(self, run_id: str, trained) -> None:
        """model.skops and predictions.npz, each written atomically; the exact types the model needs go to the
        run's record, so loading it later accepts nothing else."""
        folder = self.folder(run_id)
        blob, needed = dump_pipeline(trained.pipeline)
        atomic_write(folder / "model.skops", blob)
        self._update(run_id, model_types_json=json.dumps(needed))
        with atomic_open(folder / "predictions.npz") as handle:
            np.savez_compressed(handle, **_prediction_arrays(trained))

    def load_model(self, run_id: str):
        path = self.folder(run_id, create=False) / "model.skops"
        if not path.exists():
            raise ModelDeckError(f"Run '{run_id}' has no saved model (it may still be running or have failed).")
        return load_pipeline(path, self.get(run_id).model_types, run_id)

    def load_predictions(self, run_id: str) -> dict:
        """{'train': Predictions, 'test': Predictions} from the run's arrays, plus 'oof' (out-of-fold predictions of
        the training rows) for runs trained with cross-validation since they were stored."""
        from core.evaluate import Predictions
        path = self.folder(run_id, create=False) / "predictions.npz"
        if not path.exists():
            raise ModelDeckError(f"Run '{run_id}' has no saved predictions.")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        labels = arrays["labels"].tolist() if "labels" in arrays else None
        return {part: Predictions(arrays[f"{part}_y_true"], arrays[f"{part}_y_pred"],
                                  arrays.get(f"{part}_proba"), labels) for part in ("train", "test", "oof")
                if f"{part}_y_true" in arrays}


def _prediction_arrays(trained) -> dict[str, np.ndarray]:
    arrays = {}
    parts = (("train", trained.train_pred), ("test", trained.test_pred), ("oof", getattr(trained, "oof_pred", None)))
    for part, pred in (p for p in parts if p[1] is not None):
        string_like = pred.labels is not None
        arrays[f"{part}_y_true"] = np.asarray(pred.y_true, dtype=str if string_like else float)
        arrays[f"{part}_y_pred"] = np.asarray(pred.y_pred, dtype=str if string_like else float)
        if pred.proba is not None:
            arrays[f"{part}_proba"] = np.asarray(pred.proba, dtype=float)
    if trained.test_pred.labels is not None:
        arrays["labels"] = np.asarray(trained.test_pred.labels, dtype=str)
    return arrays


_BEATS: dict[str, Beat] = {}     # heartbeats this process writes, by run id


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
