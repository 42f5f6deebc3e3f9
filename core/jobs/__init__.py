"""Every long job in the background, through one mechanism: a row in the run store's `jobs` table and a child
process `python -m core job --id ID` that runs it, writing progress and a heartbeat, honouring cancel, and storing
its result (or the one-line reason it failed). It sits above every capability, since its kinds call them.

- `start_job(store, kind, subject, params)`: queue a job for the store's owner and start its process (detached:
  it outlives the page that started it; RunStore.launch_job); `run_job(job_id)` is what that process runs.
- `KINDS`: the kinds a job can be (leaderboard, optimizers, compress, recommend, shap, tune), each a function
  `(job, progress, store) -> result dict` in `core.jobs._kinds`. Tuning workers are jobs of kind `tune`, queued
  and launched by core.tune.start_workers (several per search, one study shared through the database).
"""
from core.jobs._kinds import KINDS
from core.jobs._run import run_job, start_job

__all__ = ["KINDS", "run_job", "start_job"]
