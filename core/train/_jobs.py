"""Background training: a run is queued in the store, a child process trains it and writes progress there.

The page polls the store, so it never freezes and can be closed and reopened while the job goes on.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from core.data import load_dataset
from core.common import ModelDeckError
from core.models import ModelSpec
from core.data import PrepOptions
from core.runs import Run, RunStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def queue_run(store: RunStore, dataset, spec: ModelSpec, prep: PrepOptions, name: str | None = None,
              group_id: str | None = None) -> Run:
    return store.create(name=name or f"{spec.title(dataset.task)} on {dataset.name}", dataset_key=dataset.key,
                        dataset_name=dataset.name, task=dataset.task, spec_json=spec.to_json(), prep=prep.to_dict(),
                        fingerprint=dataset.fingerprint, group_id=group_id, status="queued")


def start_background(run_id: str) -> int:
    """Launch `python -m core run-job --run ID` detached from the app; returns its pid."""
    log = open(RunStore().folder(run_id) / "job.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "core", "run-job", "--run", run_id], cwd=REPO_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=os.environ.copy())
    return proc.pid


class _ThrottledProgress:
    """Writes progress to the store at most every `interval` seconds (and always at the end)."""

    def __init__(self, store: RunStore, run_id: str, interval: float = 0.5):
        self.store, self.run_id, self.interval, self.last = store, run_id, interval, 0.0

    def __call__(self, fraction: float, message: str, history=None) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval or fraction >= 1.0:
            self.store.set_progress(self.run_id, fraction, message, history)
            self.last = now


def run_job(run_id: str, cv_folds: int = 5) -> Run:
    """Train a queued run in this process; the run ends 'done' or 'failed', never half-written."""
    from core.train._train import train_model
    store = RunStore()
    run = store.get(run_id)
    store.mark_running(run_id)
    try:
        dataset = load_dataset(run.dataset_key)
        spec = ModelSpec.from_json(json.dumps(run.spec))
        trained = train_model(dataset, spec, PrepOptions.from_dict(run.prep), cv_folds=cv_folds,
                              progress=_ThrottledProgress(store, run_id))
        return store.finish(run_id, trained)
    except ModelDeckError as exc:
        store.fail(run_id, str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else is recorded on the run, with its traceback in job.log
        traceback.print_exc()
        store.fail(run_id, f"Unexpected error: {exc}")
    return store.get(run_id)
