"""Heartbeats: a job writes a sign of life to the run store every HEARTBEAT_S seconds, so any process that reads
the store — on this machine or another sharing the database — can tell a job that stopped (killed, crashed, its
machine gone) from one that is still working: a running job without a heartbeat for STALE_AFTER_S seconds is shown
as failed. On the machine that ran it, a job whose process is gone is shown as failed at once.

Training runs beat on their own row (`RunStore.mark_running` in the job's process starts the beat); other jobs —
compression, tuning workers — get a row in the `jobs` table through `RunStore.job(kind, subject)`, unless they run
inside a background job (`running_as_job`), whose row already beats.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import sqlalchemy as sa

from core.runs._schema import jobs_table

HEARTBEAT_S = 5.0        # a job writes a sign of life this often …
STALE_AFTER_S = 60.0     # … and is shown as failed after this long without one
HOST = socket.gethostname()
_current_job: ContextVar[str | None] = ContextVar("modeldeck_current_job", default=None)


@contextmanager
def running_as_job(job_id: str) -> Iterator[None]:
    """Inside the block this process works for background job `job_id` (core.jobs runs each kind in one), whose
    heartbeat already covers the work: `RunStore.job` then records no second row."""
    token = _current_job.set(job_id)
    try:
        yield
    finally:
        _current_job.reset(token)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their time zone; every stored one is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


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


def stopped_reason(host: str | None, pid: int | None, heartbeat_at: datetime | None,
                   stale_after_s: float) -> str | None:
    """Why a job that says it is running has in fact stopped, or None when it may still be alive."""
    if pid and host in (HOST, None) and not pid_alive(pid):     # None: a row from before hosts were kept
        return f"Its process ({pid} on {host}) is gone: it was killed or crashed."
    beat = _aware(heartbeat_at)
    if beat is not None and (now() - beat).total_seconds() > stale_after_s:
        where = f" on {host}" if host else ""
        return (f"No heartbeat since {beat:%Y-%m-%d %H:%M:%S} UTC (more than {stale_after_s:.0f} s): the job{where} "
                "was killed, crashed or lost its machine.")
    return None


class Beat:
    """A daemon thread that calls `write()` every `every` seconds until stopped (or the process ends)."""

    def __init__(self, write: Callable[[], None], every: float = HEARTBEAT_S):
        self.write, self.every, self.stopped = write, every, threading.Event()
        self.thread = threading.Thread(target=self._loop, name="modeldeck-heartbeat", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.write()
            except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next one may get through
                pass

    def stop(self) -> None:
        self.stopped.set()


@dataclass
class Job:
    """One background job that is not a single training run (a leaderboard, compression, a tuning worker…), as the
    store reports it. `started_at` is when it was created (queued)."""

    id: str
    kind: str
    subject: str
    status: str          # queued | running | done | failed | cancelled (failed also when its heartbeat went stale)
    message: str
    error: str | None
    host: str | None
    pid: int | None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None = None
    owner: str | None = None
    params: dict = field(default_factory=dict)
    progress: float = 0.0
    result: dict | None = None
    cancel_requested: bool = False
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")


class JobBeats:
    """The `jobs` table of RunStore: start a job with a heartbeat, list jobs with their real state."""

    engine: sa.Engine
    stale_after_s: float

    @contextmanager
    def job(self, kind: str, subject: str, message: str = "", every: float = HEARTBEAT_S) -> Iterator[Job]:
        """Record a job of this process with a heartbeat; it ends 'done', or 'failed' with the error raised. Inside
        a background job (`running_as_job`) that job's row, which already beats, is yielded and nothing is added."""
        if _current_job.get() is not None:
            yield self.jobs(job_id=_current_job.get())[0]
            return
        job_id, start = uuid.uuid4().hex[:12], now()
        with self.engine.begin() as conn:
            conn.execute(jobs_table.insert().values(id=job_id, kind=kind, subject=subject, status="running",
                                                    message=message[:500], host=HOST, pid=os.getpid(),
                                                    started_at=start, heartbeat_at=start))
        beat = Beat(lambda: self._job_update(job_id, heartbeat_at=now()), every)
        try:
            yield self.jobs(subject=subject, job_id=job_id)[0]
        except BaseException as exc:
            beat.stop()
            self._job_update(job_id, status="failed", error=(str(exc) or type(exc).__name__)[:2000],
                             finished_at=now())
            raise
        beat.stop()
        self._job_update(job_id, status="done", finished_at=now())

    def _job_update(self, job_id: str, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(**values))

    _ANYONE = object()

    def jobs(self, subject: str | None = None, kind: str | None = None, job_id: str | None = None,
             owner=_ANYONE, limit: int | None = None) -> list[Job]:
        """Jobs newest first (with `owner`, only that owner's); a queued or running one that stopped beating (or
        whose local process is gone) reads 'failed'."""
        query = jobs_table.select().order_by(jobs_table.c.started_at.desc())
        for column, value in (("subject", subject), ("kind", kind), ("id", job_id)):
            if value is not None:
                query = query.where(jobs_table.c[column] == value)
        if owner is not JobBeats._ANYONE:
            query = query.where(jobs_table.c.owner.is_(None) if owner is None else jobs_table.c.owner == owner)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [self._judged_job(_row_to_job(row)) for row in rows]

    def _judged_job(self, job: Job) -> Job:
        if job.status in ("queued", "running"):
            reason = stopped_reason(job.host, job.pid, job.heartbeat_at, self.stale_after_s)
            if reason:
                job.status, job.error = "failed", reason
        return job


def _row_to_job(row) -> Job:
    values = {c: getattr(row, c) for c in jobs_table.c.keys()}
    params, result = values.pop("params_json"), values.pop("result_json")
    return Job(**values | {"params": json.loads(params) if params else {},
                           "result": json.loads(result) if result else None,
                           "progress": values["progress"] or 0.0, "message": values["message"] or "",
                           "cancel_requested": bool(values["cancel_requested"])})
