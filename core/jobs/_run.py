"""Starting a job's process and what that process does: look the kind up, run it with a progress callback that
writes to the store and stops it when cancelled, and end the job done (with its result), failed or cancelled."""
from __future__ import annotations

import sys
import time
import traceback
from typing import Callable

from core.common import Cancelled, ModelDeckError
from core.runs import HEARTBEAT_S, Job, JobProgress, RunStore, running_as_job


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


CANCEL_GRACE_S = 5.0     # a cancel not taken at a progress report within this long stops the job mid-step


class _CancelWatch:
    """Called by the job's heartbeat thread after each beat: once a cancel has waited `grace` seconds for a progress
    report (a long step that never reports, e.g. one big model), end the job cancelled and call `stop()` (the
    command line sends itself SIGTERM, which raises KeyboardInterrupt in the job's code: its own clean-up runs, and
    the job, already ended, stays cancelled)."""

    def __init__(self, store: RunStore, job_id: str, stop: Callable[[], None], grace: float):
        self.store, self.job_id, self.stop, self.grace = store, job_id, stop, grace
        self.asked_at: float | None = None

    def __call__(self) -> None:
        if not self.store.cancel_requested(self.job_id):
            return
        self.asked_at = self.asked_at or time.monotonic()
        if time.monotonic() - self.asked_at >= self.grace and not self.store.get_job(self.job_id).finished:
            self.store.end_job(self.job_id, "cancelled", error="Cancelled by its owner (stopped in the middle of "
                                                               "a step that does not report progress).")
            self.stop()


def run_job(job_id: str, store: RunStore | None = None, stop: Callable[[], None] | None = None,
            beat_every: float = HEARTBEAT_S, cancel_grace: float = CANCEL_GRACE_S) -> Job:
    """Run a queued job in this process; it ends done, failed (one line; the traceback goes to the log) or
    cancelled. Work the kind saved before a cancel (e.g. the runs of models that finished) is kept. A cancel is
    taken at the next progress report; with `stop` (how to interrupt this process's work), after `cancel_grace`
    seconds without one the job is stopped mid-step (except kinds registered `finish_the_step`, e.g. a tuning
    worker, which ends its trial)."""
    from core.jobs._kinds import FINISH_THE_STEP, KINDS
    store = store or RunStore()
    job = store.get_job(job_id)
    if job.finished:
        return job
    if job.cancel_requested:
        store.end_job(job_id, "cancelled", error="Cancelled before it started.")
        return store.get_job(job_id)
    watch = _CancelWatch(store, job_id, stop, cancel_grace) if stop and job.kind not in FINISH_THE_STEP else None
    beat = store.job_running(job_id, every=beat_every, after_beat=watch)
    try:
        with running_as_job(job_id):
            result = KINDS[job.kind](job, JobProgress(store, job_id), store.as_owner(job.owner))
    except Cancelled:
        store.end_job(job_id, "cancelled", error="Cancelled by its owner.")
    except KeyboardInterrupt:       # SIGTERM too (python -m core job): a tuning trial is marked failed on the way
        if not store.get_job(job_id).finished:       # else: a cancel stopped it mid-step (_CancelWatch)
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
