"""Background jobs started from the pages (a leaderboard, a compression, a recommender build…): the records of the
`jobs` table that the job's own process updates and any page, on any machine sharing the database, reads.

A job is queued (`queue_job`) with its kind, owner and parameters and its process started (`launch_job`:
`python -m core job --id ID`, detached, logging to <home>/jobs/<id>.log); that process marks it running (`job_running`,
which starts the heartbeat), reports progress through `JobProgress` — throttled writes that also raise `Cancelled`
once someone asked it to stop (`request_cancel`) — and ends it done with a small JSON result, failed with one line,
or cancelled (`end_job`). A job that stopped beating reads 'failed' (`JobBeats.jobs`, the rule of heartbeats).
A failed job keeps the end of its log in its folder (`keep_job_log`), which a shared database keeps, so any machine
reads what it printed (`job_log_text`), not only the machine whose disk holds the log.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from core.common import Cancelled, ModelDeckError, Throttle, atomic_write, home
from core.runs._heartbeat import HEARTBEAT_S, HOST, Beat, Job, now
from core.runs._schema import jobs_table

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
LOG_TAIL_BYTES = 64 * 1024      # how much of a failed job's log is kept with it
REPO_ROOT = Path(__file__).resolve().parents[2]


def job_command(job_id: str) -> list[str]:
    return [sys.executable, "-m", "core", "job", "--id", job_id]


def launch_detached(cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start `cmd` from the repository root in a session of its own, so it outlives the caller, its output
    appended to `log_path`; → its pid. `env`: variables added to this process's."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=os.environ | (env or {}))
    return proc.pid


def job_log(job_id: str, create: bool = True) -> Path:
    """Where this machine keeps the output of a job's process (`create`: make the folder)."""
    folder = home() / "jobs"
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.log"


def _tail(path: Path, size: int = LOG_TAIL_BYTES) -> str:
    """The last `size` bytes of a file as text (from the start of a line when cut)."""
    with open(path, "rb") as handle:
        handle.seek(max(path.stat().st_size - size, 0))
        data = handle.read()
    if len(data) == size and b"\n" in data:
        data = data[data.index(b"\n") + 1:]
    return data.decode("utf-8", errors="replace")


class BackgroundJobs:
    """The part of RunStore that records jobs started from the pages (mixed in beside JobBeats)."""

    def queue_job(self, kind: str, subject: str, params: dict, message: str = "Waiting to start") -> Job:
        """A new job of this store's owner, queued; its process is started by the caller (core.jobs)."""
        job_id, moment = uuid.uuid4().hex[:12], now()
        with self.engine.begin() as conn:
            conn.execute(jobs_table.insert().values(
                id=job_id, kind=kind, subject=str(subject)[:200], status="queued", message=message[:500],
                host=HOST, pid=None, started_at=moment, heartbeat_at=moment, updated_at=moment, owner=self.owner,
                params_json=json.dumps(params), progress=0.0, cancel_requested=False))
        return self.get_job(job_id)

    def get_job(self, job_id: str) -> Job:
        found = self.jobs(job_id=str(job_id)[:32])
        if not found:
            raise ModelDeckError(f"Job '{job_id}' was not found; it may have been deleted with its run.")
        return found[0]

    def _set_job(self, job_id: str, only_unfinished: bool = True, **values) -> int:
        query = jobs_table.update().where(jobs_table.c.id == job_id)
        if only_unfinished:       # a job that ended (or was cancelled meanwhile) is never written over
            query = query.where(jobs_table.c.status.in_(("queued", "running")))
        with self.engine.begin() as conn:
            return conn.execute(query.values(updated_at=now(), **values)).rowcount

    def launch_job(self, job_id: str, env: dict[str, str] | None = None) -> Job:
        """Start the process of a queued job (`python -m core job --id ID`, which runs its kind): detached, so it
        outlives the caller; its output goes to `job_log(id)`. `env`: variables added to this process's."""
        self.job_launched(job_id, launch_detached(job_command(job_id), job_log(job_id), env))
        return self.get_job(job_id)

    def job_launched(self, job_id: str, pid: int) -> None:
        """The process that will run the job started (on this machine): if it dies before it starts, the job fails."""
        self._set_job(job_id, pid=pid, host=HOST, heartbeat_at=now())

    def job_running(self, job_id: str, every: float = HEARTBEAT_S, after_beat=None) -> Beat:
        """Called by the job's own process: mark it running and start its heartbeat (stop it when the job ends);
        `after_beat()` is called by the heartbeat's thread after each beat."""
        self._set_job(job_id, status="running", pid=os.getpid(), host=HOST, heartbeat_at=now(), message="Starting")

        def beat() -> None:
            self._set_job(job_id, heartbeat_at=now())
            if after_beat is not None:
                after_beat()
        return Beat(beat, every)

    def report_job(self, job_id: str, fraction: float, message: str) -> bool:
        """Write the job's progress and a heartbeat; → whether its cancel was requested."""
        self._set_job(job_id, progress=float(min(max(fraction, 0.0), 1.0)), message=str(message)[:500],
                      heartbeat_at=now())
        return self.cancel_requested(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(jobs_table.select().with_only_columns(jobs_table.c.cancel_requested)
                                     .where(jobs_table.c.id == job_id)).scalar())

    def request_cancel(self, job_id: str) -> Job:
        """Ask a job to stop; one that has not started yet (or whose process is gone) is cancelled at once."""
        self._set_job(job_id, cancel_requested=True)
        job = self.get_job(job_id)
        if job.status == "failed":              # it had stopped already: write down why
            self.end_job(job_id, "failed", error=job.error)
        elif job.status == "queued" and not job.pid:
            self.end_job(job_id, "cancelled", error="Cancelled before it started.")
        return self.get_job(job_id)

    def job_folder(self, job_id: str, create: bool = True) -> Path:
        """A job's own files (e.g. a built recommender): beside the runs' folders, and shared like them."""
        return self.artifacts.folder(f"job-{job_id}", create)

    def keep_job_log(self, job_id: str, detail: str = "") -> None:
        """Keep the end of this machine's log of the job (or `detail` when there is none, e.g. a job run in the
        caller's process) as `log.txt` in the job's folder."""
        log = job_log(job_id, create=False)
        text = _tail(log) if log.exists() else detail
        if text.strip():
            atomic_write(self.job_folder(job_id) / "log.txt", text)

    def job_log_text(self, job_id: str) -> str | None:
        """What a failed job printed (the end of its log), from any machine; None when nothing was kept."""
        kept = self.job_folder(job_id, create=False) / "log.txt"
        if kept.exists():
            return kept.read_text(encoding="utf-8", errors="replace")
        log = job_log(job_id, create=False)
        return _tail(log) if log.exists() else None

    def end_job(self, job_id: str, status: str, result: dict | None = None, error: str | None = None) -> None:
        """done (with its JSON result), failed (with one line) or cancelled; a job that already ended stays so."""
        if status not in ("done", "failed", "cancelled"):
            raise ValueError(f"A job ends done, failed or cancelled, not {status!r}.")
        values = {"status": status, "finished_at": now(), "message": {"done": "Done", "failed": "Failed",
                                                                     "cancelled": "Cancelled"}[status]}
        if status == "done":
            values |= {"progress": 1.0, "result_json": json.dumps(result or {})}
        if error:
            values["error"] = (error.strip().splitlines() or [""])[0][:2000]
        self._set_job(job_id, **values)


class JobProgress:
    """The Progress callback of a job's process: writes progress, message and heartbeat at most every `interval`
    seconds (and at the end), and raises `Cancelled` once the job's cancel was requested."""

    def __init__(self, store: BackgroundJobs, job_id: str, interval: float = 0.5):
        self.store, self.job_id, self.throttle = store, job_id, Throttle(interval)

    def __call__(self, fraction: float, message: str = "", *_extra, **_named) -> None:
        if self.throttle.due(fraction) and self.store.report_job(self.job_id, fraction, message):
            raise Cancelled("The job was cancelled.")
