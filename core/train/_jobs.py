"""Background training: a run is queued in the store, a child process trains it and writes progress there.

The page polls the store, so it never freezes and can be closed and reopened while the job goes on. With
`processes` > 1 the job is `torchrun --standalone --nproc_per_node N -m core run-job --run ID`: the processes train
the neural network together (DistributedDataParallel) and rank 0 alone writes progress, heartbeat and the result.
`check_processes` refuses, before anything starts, a multi-process job that could not run as asked.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import traceback

from core.data import load_dataset
from core.common import ModelDeckError, Throttle
from core.models import ModelSpec, World, local_batch_size, make_estimator
from core.data import PrepOptions
from core.runs import Run, RunStore, launch_detached


def queue_run(store: RunStore, dataset, spec: ModelSpec, prep: PrepOptions, name: str | None = None,
              group_id: str | None = None) -> Run:
    return store.create(name=name or f"{spec.title(dataset.task)} on {dataset.name}", dataset_key=dataset.key,
                        dataset_name=dataset.name, task=dataset.task, spec_json=spec.to_json(), prep=prep.to_dict(),
                        fingerprint=dataset.fingerprint, group_id=group_id, status="queued")


def trains_distributed(family_key: str, task: str) -> bool:
    """Whether a model family can train over several processes (its estimator joins a torchrun process group)."""
    try:
        estimator = make_estimator(ModelSpec.create(family_key), task)
    except ModelDeckError:
        return False
    return bool(getattr(estimator, "trains_distributed", False))


def check_processes(spec: ModelSpec, task: str, processes: int) -> None:
    """Refuse a multi-process training that cannot run as asked: a model without multi-process training, or a batch
    that does not split evenly over the processes."""
    if processes <= 1:
        return
    if not trains_distributed(spec.family, task):
        raise ModelDeckError(f"{spec.title(task)} trains in one process; only the neural networks (PyTorch MLP "
                             "and CNN) train over several. Choose 1 process, or a neural network.")
    local_batch_size(int(spec.params["batch_size"]), World(0, processes))


def _loopback() -> str | None:
    """The loopback interface's name (lo on Linux, lo0 on macOS): a one-machine job's processes talk over it."""
    names = {name for _index, name in socket.if_nameindex()}
    return next((n for n in ("lo", "lo0") if n in names), None)


def job_command(run_id: str, processes: int = 1) -> list[str]:
    """`python -m core run-job --run ID`, through torchrun (`python -m torch.distributed.run`) for several processes
    on this machine (`--standalone`: a free rendezvous port of its own)."""
    if processes <= 1:
        return [sys.executable, "-m", "core", "run-job", "--run", run_id]
    job = ["-m", "core", "run-job", "--run-id", run_id]   # torchrun would read --run as its own --run-path
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={int(processes)}", *job]


def start_background(run_id: str, processes: int = 1) -> int:
    """Launch the run's job detached from the app (`job_command`); returns its pid (torchrun's, for several
    processes; rank 0 records its own pid when it starts)."""
    env = {}
    if processes > 1 and _loopback() and "GLOO_SOCKET_IFNAME" not in os.environ:
        env["GLOO_SOCKET_IFNAME"] = _loopback()
    return launch_detached(job_command(run_id, processes), RunStore().folder(run_id) / "job.log", env)


class _ThrottledProgress:
    """Writes progress to the store at most every `interval` seconds (and always at the end)."""

    def __init__(self, store: RunStore, run_id: str, interval: float = 0.5):
        self.store, self.run_id, self.throttle = store, run_id, Throttle(interval)

    def __call__(self, fraction: float, message: str, history=None) -> None:
        if self.throttle.due(fraction):
            self.store.set_progress(self.run_id, fraction, message, history)


def run_job(run_id: str, cv_folds: int = 5, world: World | None = None) -> Run:
    """Train a queued run in this process; the run ends 'done' or 'failed', never half-written.

    In a multi-process job (`world` from `core.models.distributed_session`) every process trains, and rank 0 alone
    marks the run running, writes its progress and heartbeat and saves the result or the failure.
    """
    from core.train._train import train_model
    world = world or World()
    store = RunStore()
    run = store.get(run_id)
    if world.is_main:
        store.mark_running(run_id)
    try:
        dataset = load_dataset(run.dataset_key)
        spec = ModelSpec.from_json(json.dumps(run.spec))
        check_processes(spec, dataset.task, world.size)
        trained = train_model(dataset, spec, PrepOptions.from_dict(run.prep), cv_folds=cv_folds,
                              progress=_ThrottledProgress(store, run_id) if world.is_main else None)
        if not world.is_main:
            return run
        return store.finish(run_id, trained)
    except Exception as exc:  # noqa: BLE001 - recorded on the run (by rank 0), any traceback in job.log
        expected = isinstance(exc, ModelDeckError)
        if not expected:
            traceback.print_exc()
        if world.is_main:
            store.fail(run_id, str(exc) if expected else f"Unexpected error: {exc}")
    return store.get(run_id)


def load_trained(store: RunStore, run_id: str):
    """A finished training run as the `TrainedModel` it was when saved (pipeline, metrics, predictions, timings),
    read from the store: what a leaderboard trained in a background job shows, without training again."""
    from core.evaluate import MetricReport
    from core.train._train import TrainedModel
    run = store.get(run_id)
    if run.status != "done" or run.kind != "train":
        raise ModelDeckError(f"Run '{run_id}' is not a finished training run ({run.status}).")
    preds = store.load_predictions(run_id)
    timings = {k: run.timings.get(k, 0.0) for k in ("fit_seconds", "predict_ms_per_row", "size_bytes",
                                                    "total_seconds")}
    return TrainedModel(pipeline=store.load_model(run_id), spec=ModelSpec.from_json(json.dumps(run.spec)),
                        task=run.task, dataset_key=run.dataset_key, fingerprint=run.fingerprint or "",
                        prep=PrepOptions.from_dict(run.prep), report=MetricReport.from_dict(run.metrics),
                        train_pred=preds["train"], test_pred=preds["test"], oof_pred=preds.get("oof"),
                        history=run.history, **timings)
