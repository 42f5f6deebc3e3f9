"""Background jobs as the pages see them: start one (after the one permission check), find it again after the tab
was closed and reopened, follow its progress from the run store, cancel it, and hand its result to the page.

The job runs in its own process (`python -m core job --id ID`, core.jobs), so it neither blocks this session nor
stops when the tab closes. A page keeps nothing but the job's id; a new session of the same owner finds the newest
job of a kind for the same subject (data set or run) with `latest_job`.
"""
from __future__ import annotations

import streamlit as st

from core.runs import Job
from ui.runs import in_shared_view, require_write, run_store, session_owner

POLL_S = 1.0              # how often the page reads a running job's progress
INLINE = False            # tests that patch core in this process run the job here (same records, same code)


def _remember(kind: str, subject: str, job_id: str) -> None:
    st.session_state[f"_job_{kind}_{subject}"] = job_id


def start_job(kind: str, subject: str, params: dict) -> Job:
    """Queue a job for this user and start its process (refused, with a message, in a read-only session)."""
    from core.jobs import start_job as launch
    job = launch(require_write(), kind, subject, params, in_process=INLINE)
    _remember(kind, subject, job.id)
    return job


def latest_job(kind: str, subject: str) -> Job | None:
    """The job of `kind` on `subject` this session started last, else this owner's newest one (a reopened tab)."""
    if in_shared_view() or session_owner() is None:
        return None
    store = run_store()
    job_id = st.session_state.get(f"_job_{kind}_{subject}")
    if job_id:
        found = store.jobs(job_id=job_id, owner=session_owner())
        if found:
            return found[0]
    found = jobs_of(kind, subject, limit=1)
    return found[0] if found else None


def cancel_job(job_id: str) -> Job:
    """Ask the job to stop (its owner only): at its next progress report, or mid-step after a few seconds
    (core.jobs._run.CANCEL_GRACE_S; a tuning worker ends its trial)."""
    store = require_write()
    job = store.get_job(job_id)
    if job.owner != session_owner():
        from core.common import ModelDeckError
        raise ModelDeckError("This job belongs to someone else; only its owner can cancel it.")
    return store.request_cancel(job_id)


def _progress_line(job: Job, label: str) -> None:
    waiting = " (waiting to be cancelled)" if job.cancel_requested else ""
    st.progress(min(max(job.progress, 0.0), 1.0), text=f"{label}: {job.message or job.status}{waiting}")


@st.fragment(run_every=POLL_S)
def _follow(followed: tuple[tuple[str, str, str], ...]) -> None:
    """Running jobs ((id, label, key) each) redrawn every POLL_S seconds from the store, all in one fragment;
    when one has ended, the whole page reruns to show it."""
    store = run_store()
    jobs = [(store.get_job(job_id), label, key) for job_id, label, key in followed]
    if any(job.finished for job, _, _ in jobs):
        st.rerun()
    for job, label, key in jobs:
        _progress_line(job, label)
        if st.button("Cancel", key=f"{key}_cancel", icon=":material/cancel:", disabled=job.cancel_requested,
                     help="Stops the job within seconds (a tuning worker ends its trial first); what it already "
                          "saved is kept."):
            from ui.common import user_errors
            with user_errors():
                cancel_job(job.id)
            st.rerun(scope="fragment")
    processes = ", ".join(str(job.pid or "…") for job, _, _ in jobs)
    st.caption(f"{'This job runs' if len(jobs) == 1 else 'These jobs run'} in the background (process "
               f"{processes}): you can leave this page or close the tab; come back to see the result.")


def _job_log(job_id: str) -> None:
    """The end of what a failed job printed (kept with the job, so it is there on every machine)."""
    text = run_store().job_log_text(job_id)
    if text:
        with st.expander("What the job printed (end of its log)"):
            st.code(text, language=None)


def job_panel(job: Job | None, label: str, key: str) -> Job | None:
    """A job's state in the page: progress and a Cancel button while it runs (polled from the store), why it
    stopped if it failed or was cancelled; → the job when it finished with a result, else None. `job` is as just
    read from the store (`latest_job`, `jobs_of`)."""
    if job is None:
        return None
    if job.status == "done":
        return job
    if job.status == "failed":
        st.error(f"{label} failed: {job.error or 'no reason was recorded'}", icon=":material/error:")
        _job_log(job.id)
    elif job.status == "cancelled":
        st.warning(f"{label} was cancelled. {job.error or ''}".strip(), icon=":material/cancel:")
    else:
        _follow(((job.id, label, key),))
    return None


def jobs_panel(jobs: list[Job], label_of, key_of) -> None:
    """Several jobs (e.g. the workers of one search) as `job_panel` shows one, the running ones followed by a
    single polling fragment. `label_of(job)`, `key_of(job)`: each job's words and widget key."""
    running = tuple((job.id, label_of(job), key_of(job)) for job in jobs if not job.finished)
    for job in jobs:
        if job.finished:
            job_panel(job, label_of(job), key_of(job))
    if running:
        _follow(running)


def jobs_of(kind: str, subject: str, limit: int = 8) -> list[Job]:
    """This owner's newest jobs of `kind` on `subject` (e.g. the workers of one search)."""
    if in_shared_view() or session_owner() is None:
        return []
    return run_store().jobs(kind=kind, subject=subject, owner=session_owner(), limit=limit)
