"""The run store: one SQL row per run (SQLAlchemy; SQLite by default, any URL through MODELDECK_DB_URL) plus an
artifact folder in safe formats (skops for fitted pipelines, loaded with exactly the types recorded when they were
written; .npz without pickles for predictions). With a shared database (e.g. PostgreSQL) the artifact folders are
kept in it too, so a machine with only the URL opens every run, explanation and compression result (`RunStore.folder`
brings them; core.common keeps the files).

- `RunStore`: create, get, list (all, or those one owner may see), rename, delete, progress, status and restart of
  runs; artifacts; share links (`create_share`, `shared_run_id`, `share_links`, `revoke_share`); background jobs
  with a heartbeat (`job`, `jobs`); a run or job whose heartbeat stopped reads 'failed'. Jobs started from the
  pages: `queue_job`, `launch_job` (starts `python -m core job --id ID`), `get_job`, `job_launched`, `job_running`,
  `request_cancel`, `end_job`, `job_folder` (a job's own files, e.g. a built recommender); their process reports
  through `JobProgress` (throttled; raises core.common.Cancelled once cancel was asked). `JOB_STATUSES`.
- `Run`: one row, as the pages and the report read it (with its `owner`); `Job`: a job that is not a training run.
- `save_trained`: record an in-process training as a finished run.
- `prepare_database` / `schema_lock`: create the run tables and Optuna's once, safely when processes start together.
- `hash_password` / `check_password`: scrypt hashes for the small-team sign-in (compared in constant time).
- `pid_alive`: whether a job's process still runs on this machine; `HEARTBEAT_S`, `STALE_AFTER_S`: the beat and the
  limit after which a silent job is shown as failed.
"""
from core.runs._heartbeat import HEARTBEAT_S, STALE_AFTER_S, Job, pid_alive, running_as_job
from core.runs._jobs import JOB_STATUSES, JobProgress, launch_detached
from core.runs._passwords import check_password, hash_password
from core.runs._schema import prepare_database, schema_lock
from core.runs._shares import ShareLink
from core.runs._store import STATUSES, Run, RunStore, save_trained

__all__ = ["HEARTBEAT_S", "JOB_STATUSES", "STALE_AFTER_S", "STATUSES", "Job", "JobProgress", "Run", "RunStore", "launch_detached", "running_as_job", "ShareLink", "check_password",
           "hash_password", "pid_alive", "prepare_database", "save_trained", "schema_lock"]
