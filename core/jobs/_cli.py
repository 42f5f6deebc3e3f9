"""`python -m core job --id ID`: run one background job (what the pages start through core.jobs.start_job)."""
from __future__ import annotations


def cmd_job(args) -> int:
    """Run the job; SIGTERM ends it failed (after the kind's own clean-up, e.g. a tuning trial marked failed), or
    cancelled when it is how a cancel stops a step that does not report progress."""
    import os
    import signal

    from core.common import interrupt_on_sigterm
    from core.jobs._run import run_job
    interrupt_on_sigterm()
    job = run_job(args.id, stop=lambda: os.kill(os.getpid(), signal.SIGTERM))
    print(f"job {job.id} ({job.kind}): {job.status}" + (f" — {job.error}" if job.error else ""))
    return 0 if job.status in ("done", "cancelled") else 1


def register_cli(sub) -> None:
    job = sub.add_parser("job", help="run one queued background job (started by the pages)")
    job.add_argument("--id", required=True, help="the job's id in the run store")
    job.set_defaults(func=cmd_job)
