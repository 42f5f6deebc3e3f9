"""Workers: processes that join a study and run its trials until the study's budget is spent. The budget is
shared through the database with Optuna's MaxTrialsCallback (counting complete, pruned, failed and running
trials), so workers on any machine split it as they go and a worker that dies leaves its trials to the others;
the last slots are left to the first live worker, so workers finishing together do not overshoot. Also starting
worker processes (background jobs of kind 'tune': `python -m core job`, followed and cancelled like every other
job), cooperative stop and resume, and telling whether a worker is still alive.
"""
from __future__ import annotations

import math
import os
import socket
import time
from datetime import datetime
from typing import Callable

from core.common import ModelDeckError, Progress
from core.tune._config import Metric, settings_text
from core.tune._objective import Objective
from core.tune._storage import STOP_ATTR, WORKER, load_study, now, quiet_optuna, study_attrs

CATCH = (ModelDeckError, ValueError, ArithmeticError, RuntimeError)   # a trial fails, the search goes on
#: BLAS/OpenMP threads per worker. A search is many small fits: parallelism comes from workers, and on a busy
#: 2-core machine a 2-thread OpenBLAS made a logistic regression on iris 18x slower than 1 thread.
WORKER_THREADS = 1
#: Trial states that use up the budget. Finished trials count whatever their end: a pruned or failed trial was
#: tried (and without PRUNED, workers whose every trial is pruned would never stop). RUNNING trials count too,
#: so a worker does not start a trial for a slot another worker is already filling (Optuna's MaxTrialsCallback
#: counts COMPLETE only by default, which lets m workers overshoot by m - 1); the running trial of a dead worker
#: turns FAIL and still counts. WAITING (enqueued) trials are not spent until a worker takes them.
BUDGET_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING")
_FINISHED = ("COMPLETE", "PRUNED", "FAIL")
WAIT_S = 0.5                    # how often a worker that left the last slots to another looks again


def _states(names: tuple[str, ...]) -> tuple:
    from optuna.trial import TrialState
    return tuple(TrialState[n] for n in names)


def _count(study, states: tuple[str, ...]) -> int:
    return len(study.get_trials(deepcopy=False, states=_states(states)))


def remaining_trials(name: str) -> int:
    """What is left of the budget: the budget minus the finished trials (complete, pruned or failed)."""
    study, config = load_study(name, worker=None)
    return max(int(config.budget) - _count(study, _FINISHED), 0)


def _limit(study, budget: int, capped: bool) -> int:
    """The study's trial count at which this worker stops: the budget, less one slot for each live worker without
    a cap whose name sorts before this one's (an order every worker agrees on).

    MaxTrialsCallback looks between trials, so workers that finish at the same instant each start one more: with
    the whole budget for everyone, 2 workers (in step, as SQLite's short write locks keep them) overshot a
    30-trial budget in 5 of 12 runs. Leaving the last slots to the first live worker keeps the total exact; when
    that worker dies, the next one takes them. A worker with a cap (--trials) might stop before taking them, so
    it neither leaves nor takes them: capped workers split a budget exactly when their caps add up to it."""
    if capped:
        return budget
    me = f"worker:{WORKER}"
    ahead = sum(1 for key, record in study.user_attrs.items()
                if key.startswith("worker:") and key < me and record.get("capped") is False and worker_alive(record))
    return budget - ahead


def _wait_for_the_last_slots(study, budget: int, capped: bool, deadline: float) -> None:
    """While what is left of the budget is kept for live workers ahead of this one (see _limit), wait: they fill
    it, or they die and this worker takes over. A stop request or the end of the time budget ends the wait."""
    while (_limit(study, budget, capped) <= _count(study, BUDGET_STATES) < budget
           and not study.user_attrs.get(STOP_ATTR) and time.monotonic() < deadline):
        time.sleep(WAIT_S)


def _budget_callback(budget: int, capped: bool, deadline: float):
    """After each trial, Optuna's MaxTrialsCallback over the whole study: this worker stops once the budget is
    spent by anyone (once the workers it left the last slots to have taken them, or died)."""
    from optuna.study import MaxTrialsCallback
    states = _states(BUDGET_STATES)

    def stop_at_budget(study, trial) -> None:
        _wait_for_the_last_slots(study, budget, capped, deadline)
        MaxTrialsCallback(_limit(study, budget, capped), states=states)(study, trial)
    return stop_at_budget


def _progress_callback(progress: Progress, budget: int, metric: Metric):
    """After each trial: the share of the study's budget finished, for the background job this worker runs as
    (its progress callback raises core.common.Cancelled once the job's cancel was asked: the worker stops there,
    its finished trials kept)."""
    def report(study, trial) -> None:
        finished = _count(study, _FINISHED)
        progress(min(finished / max(budget, 1), 1.0), f"{_trial_line(trial, metric)} — "
                                                      f"{finished} of {budget} trials finished")
    return report


def _record_callback(capped: bool):
    """After each trial: a sign of life in the worker record, and stop when a stop was requested."""
    def record(study, _trial) -> None:
        study.set_user_attr(f"worker:{WORKER}", _worker_record("running", capped=capped))
        if study.user_attrs.get(STOP_ATTR):
            study.stop()
    return record


def _worker_record(state: str, pid: int | None = None, capped: bool = True) -> dict:
    return {"host": socket.gethostname(), "pid": pid or os.getpid(), "state": state, "seen": now().isoformat(),
            "capped": capped}


def run_worker(name: str, n_trials: int | None = None, timeout: float | None = None, worker: int = 0,
               log: Callable[[str], None] | None = None, progress: Progress | None = None) -> int:
    """Join the study `name` in this process and run trials until the study's budget is spent (by this worker
    and any other), at most `n_trials` of them (default: no cap), stopping early on a stop request, the time
    budget or an exhausted grid. Returns the number of trials this worker ran.

    `progress`: this worker runs as a background job (core.jobs kind 'tune'), whose row beats and takes the
    progress; without it, the worker records its own 'tune-worker' job row with a heartbeat."""
    from threadpoolctl import threadpool_limits

    from core.data import load_dataset
    quiet_optuna()
    study, config = load_study(name, worker)
    budget, capped = int(config.budget), n_trials is not None
    timeout = timeout or config.time_budget_s
    deadline = time.monotonic() + (timeout or math.inf)
    # Optuna's callback looks after each trial: check before the first one too (no trial for a spent budget)
    _wait_for_the_last_slots(study, budget, capped, deadline)
    left = _limit(study, budget, capped) - _count(study, BUDGET_STATES)
    # Without a cap, no count is fixed here: the budget callback stops this worker once the budget is spent, so a
    # worker that started while a slot was kept for a worker ahead of it takes that slot over if that one dies
    # (fixed at `left`, it stopped one trial short and the search was never done).
    n_trials = None if not capped else min(int(n_trials), left)
    if left <= 0 or (capped and n_trials <= 0) or study.user_attrs.get(STOP_ATTR):
        return 0
    objective = Objective(config, load_dataset(config.dataset_key))
    ran: list[int] = []
    study.set_user_attr(f"worker:{WORKER}", _worker_record("running", capped=capped))
    callbacks = [_record_callback(capped), lambda _s, t: ran.append(t.number)]
    if log is not None:
        callbacks.append(lambda _s, t: log(_trial_line(t, objective.metric)))
    if progress is not None:
        callbacks.append(_progress_callback(progress, budget, objective.metric))
    callbacks.append(_budget_callback(budget, capped, deadline))     # last: closest to the next trial's start
    from core.runs import RunStore
    # the worker's heartbeat in the run store (its job's, or its own row): a killed worker reads 'failed' there
    try:
        with threadpool_limits(limits=WORKER_THREADS), RunStore().job("tune-worker", name, f"Worker {WORKER}"):
            study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=CATCH, callbacks=callbacks)
    finally:
        study.set_user_attr(f"worker:{WORKER}", _worker_record("done", capped=capped))
    return len(ran)


def _trial_line(trial, metric: Metric) -> str:
    state = trial.state.name.lower()
    value = f" {metric.label} {metric.format(trial.value)}" if trial.value is not None else ""
    return f"trial {trial.number} {state}{value} ({settings_text(trial.params)})"


def start_workers(name: str, n_workers: int = 1, n_trials: int | None = None, store=None) -> list[int]:
    """Start `n_workers` workers on the study as background jobs of kind 'tune' (`python -m core job`, each its
    own process, with progress, heartbeat and cancel like every job) for the owner of `store` (default: no
    owner); returns their pids (none when the budget is spent).

    The workers share what is left of the budget, so one that dies leaves its trials to the others; `n_trials`
    caps each worker (default: no cap). Each gets WORKER_THREADS threads and logs to <home>/jobs/<job id>.log.
    """
    from core.runs import RunStore
    remaining = remaining_trials(name)
    if remaining == 0:
        return []
    store = store or RunStore()
    n_workers = max(1, min(int(n_workers), remaining))
    threads = str(WORKER_THREADS)
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    offset = worker_offset(name)
    study, _ = load_study(name, worker=None)
    pids = []
    for i in range(n_workers):
        queued = store.queue_job("tune", name, {"study": name, "worker": offset + i, "trials": n_trials})
        pid = store.launch_job(queued.id, env).pid
        pids.append(pid)
        # registered now, so the page counts it as running while it starts up
        study.set_user_attr(f"worker:{socket.gethostname()}:{pid}",
                            _worker_record("starting", pid, capped=n_trials is not None))
    return pids


def worker_offset(name: str) -> int:
    """Seed offset for new workers: past every worker that ever joined, so none repeats another's draws."""
    return sum(1 for key in study_attrs(name) if key.startswith("worker:"))


def request_stop(name: str) -> None:
    """Ask every worker to stop after the trial it is running (the study keeps everything done so far)."""
    study, _ = load_study(name, worker=None)
    study.set_user_attr(STOP_ATTR, True)


def resume(name: str, n_workers: int = 1, store=None) -> list[int]:
    """Clear a stop request and start workers (for `store`'s owner) for what is left of the budget (nothing when
    it is spent)."""
    study, _ = load_study(name, worker=None)
    study.set_user_attr(STOP_ATTR, False)
    return start_workers(name, n_workers, store=store)


def worker_alive(record: dict, stale_after_s: float = 900.0) -> bool:
    """Whether a worker record (a "worker:<host>:<pid>" study attribute) belongs to a live worker."""
    if record.get("state") not in ("starting", "running"):
        return False
    if record.get("host") == socket.gethostname():
        from core.runs import pid_alive
        return pid_alive(int(record["pid"]))
    seen = datetime.fromisoformat(record["seen"])
    return (now() - seen).total_seconds() < stale_after_s    # another machine: trust a recent sign of life
