"""Starting a job's process and what that process does: look the kind up, run it with a progress callback that
writes to the store and stops it when cancelled, and end the job done (with its result), failed or cancelled."""
from __future__ import annotations

import sys
import traceback

from core.common import Cancelled, ModelDeckError
from core.runs import Job, JobProgress, RunStore


def start_job(store: RunStore, kind: str, subject: str, params: dict, in_process: bool = False) -> Job:
    """Queue a job of `kind` for the store's owner and start its process, which outlives the caller (its own
    session; RunStore.launch_job). `in_process`: run it here and now instead (same records, same code; for tests
    that patch this process)."""
    from core.jobs._kinds import KINDS
    if kind not in KINDS:
        raise ModelDeckError(f"There is no background job of kind '{kind}'; known kinds: {', '.join(sorted(KINDS))}.")
    job = store.queue_job(kind, subject, params)
    if in_process:
        return run_job(job.id, store)
    return store.launch_job(job.id)


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
    except KeyboardInterrupt:       # SIGTERM too (python -m core job): a tuning trial is marked failed on the way
        _failed(store, job_id, "Stopped by a signal (terminated or interrupted).")
    except ModelDeckError as exc:
        _failed(store, job_id, str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the traceback is in its log
        _failed(store, job_id, f"Unexpected error: {type(exc).__name__}: {exc}", traceback.format_exc())
    else:
        store.end_job(job_id, "done", result=result)
    finally:
        beat.stop()
    return store.get_job(job_id)


def _failed(store: RunStore, job_id: str, error: str, detail: str | None = None) -> None:
    """End the job failed with one line; print the whole story (`detail`: the traceback) to the job's log and keep
    the log's end with the job, where every machine reads it (a failure to keep it is printed, never raised)."""
    print(detail or error, file=sys.stderr, flush=True)
    sys.stdout.flush()
    try:
        store.keep_job_log(job_id, detail or error)
    except Exception as exc:  # noqa: BLE001 - the job's one-line reason still goes to the store below
        print(f"The job's log could not be kept with it: {exc}", file=sys.stderr, flush=True)
    store.end_job(job_id, "failed", error=error)
