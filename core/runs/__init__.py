"""The run store: one SQL row per run plus an artifact folder in safe formats."""
from core.runs._store import (metadata, runs_table, STATUSES, Run, RunStore, pid_alive, save_trained)
