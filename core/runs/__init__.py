"""The run store: one SQL row per run (SQLAlchemy; SQLite by default, any URL through MODELDECK_DB_URL) plus an
artifact folder in safe formats (skops for fitted pipelines, loaded with an explicit list of trusted types; .npz
without pickles for predictions).

- `RunStore`: create, get, list, rename, delete, progress and status of runs, artifacts, orphan sweep.
- `Run`: one row, as the pages and the report read it.
- `save_trained`: record an in-process training as a finished run.
- `pid_alive`: whether a job's process still runs on this machine.
"""
from core.runs._store import STATUSES, Run, RunStore, pid_alive, save_trained

__all__ = ["STATUSES", "Run", "RunStore", "pid_alive", "save_trained"]
