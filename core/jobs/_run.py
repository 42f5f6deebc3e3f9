"""Starting a job's process and what that process does: look the kind up, run it with a progress callback that
writes to the store and stops it when cancelled, and end the job done (with its result), failed or cancelled."""
from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

from core.common import Cancelled, ModelDeckError, home
from core.runs import Job, JobProgress, RunStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def job_command(job_id: str) -> list[str]:
    return [sys.executable, "-m", "core", "job", "--id", job_id]


def log_path(job_id: str) -> Path:
    folder = home() / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.log"


def start_job(store: RunStore, kind: str, subject: str, params: dict, in_process: bool = False) -> Job:
    """Queue a job of `kind` for the store's owner and start its process, which outlives the caller (its own
    session); its output goes to <home>/jobs/<id>.log. `in_process`: run it here and now instead (same records,
    same code; for tests that patch this process)."""
    from core.jobs._kinds import KINDS
    if kind not in KINDS:
        raise ModelDeckError(f"There is no background job of kind '{kind}'; known kinds: {', '.join(sorted(KINDS))}.")
    job = store.queue_job(kind, subject, params)
    if in_process:
        return run_job(job.id, store)
    with open(log_path(job.id), "ab") as log:
        proc = subprocess.Popen(job_command(job.id), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy())
    store.job_launched(job.id, proc.pid)
    return store.get_job(job.id)


def run_job(job_id: str, store: RunStore | None = None) -> Job:
    """Run a queued job in this process; it ends done, failed (one line; the traceback goes to the log) or
    cancelled. Work the kind saved before a cancel (e.g. the runs of models that finished) is kept."""
    from core.jobs._kinds import KINDS
    store = store or RunStore()
    job = store.get_job(job_id)
    if job.finished:
        return job
    if job.cancel_requested:
        store.end_job(job_id, "cancelled", error="Cancelled before it started.")
        return store.get_job(job_id)
    beat = store.job_running(job_id)
    try:
        result = KINDS[job.kind](job, JobProgress(store, job_id), store.as_owner(job.owner))
    except Cancelled:
        store.end_job(job_id, "cancelled", error="Cancelled by its owner.")
    except ModelDeckError as exc:
        store.end_job(job_id, "failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the traceback is in its log
        traceback.print_exc()
        store.end_job(job_id, "failed", error=f"Unexpected error: {type(exc).__name__}: {exc}")
    else:
        store.end_job(job_id, "done", result=result)
    finally:
        beat.stop()
    return store.get_job(job_id)
