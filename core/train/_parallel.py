"""The leaderboard across the cores, within a time budget.

`train_board` trains several models on the same split. Without a budget and with one worker it trains them here,
one after the other (the serial reference). Otherwise each model is one task in a pool of worker processes
(joblib's loky executor, reused between calls), longest expected first, at most one task per core and one
BLAS/OpenMP/torch thread per worker, so two workers never fight over a core. Every task runs the very same
`_train_model` as the serial path, so the scores are the same.

The budget covers the whole leaderboard: a model is skipped when its expected time (`estimate_cpu_seconds`, a
rough guess calibrated on the built-in data sets) no longer fits in what is left, and a model still running
when the budget runs out is stopped (an alarm in its worker; the worker is killed if the model does not return
within a grace period). The models that finished are kept; `Board.cut` lists what was cut and why.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

from core.common import ModelDeckError, Progress, no_progress
from core.data import Dataset, PrepOptions
from core.models import ModelSpec

POOL_WORTH_CPU_S = 6.0    # below this expected serial CPU time, starting worker processes (≈2 s cold) is not worth it
STOP_GRACE_S = 5.0        # how long a model may overrun the budget after its alarm before its worker is killed
WORKER_IDLE_S = 600       # idle workers exit after this many seconds (the next call starts new ones)


@dataclass
class Cut:
    """A model the budget left out: 'skipped' (never started) or 'stopped' (started, did not finish)."""

    title: str
    family: str
    how: str
    seconds: float          # skipped: its expected seconds; stopped: how long it had run
    left: float = 0.0       # skipped: the seconds of budget left when its turn came

    def words(self) -> str:
        if self.how == "stopped":
            return f"{self.title} was stopped after {self.seconds:.1f} s"
        if self.left <= 0:
            return f"{self.title} was not started (the budget was used up)"
        return f"{self.title} was skipped (expected about {self.seconds:.0f} s, {self.left:.0f} s were left)"


@dataclass
class Board:
    """The models that finished (in the order asked), what the budget cut, and what it all cost."""

    models: list = field(default_factory=list)
    cut: list[Cut] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    workers: int = 1
    budget_seconds: float | None = None
    waited_seconds: float = 0.0     # the longest a model waited for a worker (starting workers import libraries)

    def time_sentence(self) -> str:
        """'6 models in 8.9 s (wall clock), 16.2 s of CPU time on 2 worker processes, one thread each.'"""
        n = len(self.models)
        where = ("in this process, one after the other" if self.workers == 0 else
                 f"on {self.workers} worker process{'es' if self.workers > 1 else ''}, one thread each")
        waited = (f" A model waited up to {self.waited_seconds:.1f} s for a free worker (workers that were not running "
                  "start and load their libraries first; other leaderboards share them)."
                  if self.waited_seconds >= 1.0 else "")
        return (f"{n} model{'s' if n != 1 else ''} trained in {self.wall_seconds:.1f} s (wall clock), "
                f"{self.cpu_seconds:.1f} s of CPU time {where}.{waited}")

    def cut_sentence(self) -> str:
        """What the budget cut, in words ('' when nothing was cut)."""
        if not self.cut:
            return ""
        kept = len(self.models)
        shown = (f"The leaderboard shows the {kept} model{'s' if kept != 1 else ''} that finished"
                 if kept else "No model finished")
        return (f"The {self.budget_seconds:.0f} s budget for the whole leaderboard was not enough: "
                + "; ".join(c.words() for c in self.cut) + f". {shown}; raise the budget to include the others.")


# ---------------------------------------------------------------- how long a model will take
def estimate_cpu_seconds(dataset: Dataset, spec: ModelSpec, cv_folds: int) -> float:
    """A rough guess of the CPU seconds `train_model` needs (one thread): fit, scoring and `cv_folds` folds.

    Calibrated on the built-in tables (a 2-core machine, within about 2× of the measured CPU time); it orders the
    work and decides what a budget skips, never a score."""
    rows, cols = len(dataset.frame), max(dataset.frame.shape[1] - 1, 1)
    fits = 1 + max(cv_folds, 0)
    classes = dataset.frame[dataset.target].nunique() if dataset.task == "classification" else 1
    p = spec.params
    if spec.family == "linear":
        return 0.1 + 5e-8 * fits * rows * cols * max(classes, 2)
    if spec.family == "knn":
        return 0.15 + 3e-10 * fits * rows * rows * cols
    if spec.family == "svm":
        return 0.1 + 2e-9 * fits * rows * rows * cols
    if spec.family == "random_forest":
        return 1.0 + 1.4e-8 * fits * p["n_estimators"] * rows * math.sqrt(cols) * math.log2(max(rows, 2))
    if spec.family == "hist_gb":
        trees = p["max_iter"] * (classes if classes > 2 else 1)
        return 0.2 + 1.3e-3 * fits * trees * max(1.0, rows * cols / 1e5)
    if spec.family == "mlp":
        steps = fits * p["epochs"] * math.ceil(rows / p["batch_size"])
        return 0.3 + 8e-5 * steps * max(1.0, (cols + sum(p["hidden"])) * p["batch_size"] / 6000)
    return 0.5 + 1e-6 * fits * rows * cols


def cpu_count() -> int:
    """Cores this process may use (affinity and container limits respected)."""
    from joblib import cpu_count as joblib_cpu_count
    return max(1, joblib_cpu_count())


# ---------------------------------------------------------------- one model in a worker
class _OutOfTime(Exception):
    pass


_alarm_rang = False


def _raise_out_of_time(_signum, _frame):
    global _alarm_rang
    _alarm_rang = True
    raise _OutOfTime()


def _train_in_worker(dataset: Dataset, spec: ModelSpec, prep: PrepOptions, cv_folds: int,
                     deadline: float | None, threads: int):
    """('done', TrainedModel, cpu s, start) or ('stopped', None, cpu s, start): `_train_model` on `threads`
    threads, stopped by an alarm at `deadline`; `start` is when the task began here. Both are seconds since the
    epoch: the same clock in every process, however long the task waited for a worker."""
    import signal

    from threadpoolctl import threadpool_limits

    from core.train._train import _train_model
    global _alarm_rang
    cpu, start = time.process_time(), time.time()
    _alarm_rang = False
    if deadline is not None:
        if deadline - start <= 0:
            return "late", None, 0.0, start
        signal.signal(signal.SIGALRM, _raise_out_of_time)
        signal.setitimer(signal.ITIMER_REAL, deadline - time.time())
    try:
        with threadpool_limits(limits=threads), _TorchThreads(threads):
            trained = _train_model(dataset, spec, prep, cv_folds, no_progress)
        return "done", trained, time.process_time() - cpu, start
    except Exception:
        # the alarm can land inside library code that turns it into its own error (numpy's buffer-format parser
        # raised ValueError from it once): whatever ends the task after the alarm rang is the stop
        if _alarm_rang:
            return "stopped", None, time.process_time() - cpu, start
        raise
    finally:
        if deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)


class _TorchThreads:
    """torch's intra-op threads set to n inside the block when torch is loaded (workers start with 1 anyway)."""

    def __init__(self, n: int):
        self.n, self.previous = n, None

    def __enter__(self):
        import sys
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != self.n:
            self.previous = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.previous is not None:
            import torch
            torch.set_num_threads(self.previous)


def _load_libraries() -> None:
    """What every worker imports once when it starts (a few seconds), so that no task pays for it: the training
    code, the scikit-learn families and torch."""
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.neighbors  # noqa: F401
    import sklearn.svm  # noqa: F401

    import core.train._train  # noqa: F401
    try:
        import torch  # noqa: F401

        import core.models.torch_mlp  # noqa: F401
    except ImportError:      # without torch the network is not offered anyway
        pass


def _executor():
    """The shared loky pool: one process per core, started with one native thread each (always the same
    arguments, so a call never replaces the pool another call is using; a task raises its own limit when the
    data is big enough for more threads to pay)."""
    from joblib.externals.loky import get_reusable_executor
    env = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return get_reusable_executor(max_workers=cpu_count(), timeout=WORKER_IDLE_S, env=env, reuse=True,
                                 initializer=_load_libraries)


def _ready() -> int:
    time.sleep(0.2)          # long enough for the other workers to take the other warm-up calls
    return os.getpid()


def warm_workers(wait: bool = False) -> None:
    """Start the worker processes now (each imports the libraries once), so that a leaderboard started a few
    seconds later does not pay for it; `wait=True` returns when they answer. Cheap when they are running."""
    executor = _executor()
    futures = [executor.submit(_ready) for _ in range(cpu_count())]
    if wait:
        for future in futures:
            future.result()


# ---------------------------------------------------------------- the whole leaderboard
def train_board(dataset: Dataset, specs: list[ModelSpec], prep: PrepOptions | None = None, cv_folds: int = 5,
                progress: Progress | None = None, n_jobs: int | None = None,
                budget_seconds: float | None = None) -> Board:
    """Train `specs` on the same split → `Board` (finished models in the order of `specs`, what was cut, times).

    `n_jobs`: worker processes (None: one per core when the work is worth it; 1: serial in this process unless a
    budget might need a worker to stop a model, i.e. unless the work is small and expected to take under a quarter
    of the budget). `budget_seconds`: wall-clock limit for the whole leaderboard."""
    prep = prep or PrepOptions()
    progress = progress or no_progress
    if budget_seconds is not None and budget_seconds <= 0:
        raise ModelDeckError("The time budget must be a positive number of seconds.")
    estimates = [estimate_cpu_seconds(dataset, s, cv_folds) for s in specs]
    cores = cpu_count()
    small = sum(estimates) < POOL_WORTH_CPU_S
    sure_to_fit = budget_seconds is None or (small and 4 * sum(estimates) < budget_seconds)
    if n_jobs is None:        # the pool when the work is worth it, or when a budget may need a worker to stop
        n_jobs = 1 if small and sure_to_fit else cores
    workers = max(1, min(n_jobs, cores, len(specs)))
    if workers == 1 and sure_to_fit:
        return _train_serial(dataset, specs, prep, cv_folds, progress)
    from core.train._train import SMALL_DATA_CELLS
    threads = 1 if dataset.frame.size < SMALL_DATA_CELLS else max(1, cores // workers)   # as train_model does
    return _train_pooled(dataset, specs, prep, cv_folds, progress, workers, threads, budget_seconds, estimates)


def _train_serial(dataset, specs, prep, cv_folds, progress) -> Board:
    from core.common import sub_progress
    from core.train._train import train_model
    start, cpu = time.perf_counter(), time.thread_time()
    models = [train_model(dataset, spec, prep, cv_folds, sub_progress(progress, i, len(specs),
                                                                      spec.title(dataset.task)))
              for i, spec in enumerate(specs)]
    return Board(models, [], time.perf_counter() - start, time.thread_time() - cpu, workers=0)


@dataclass
class _Task:
    index: int
    spec: ModelSpec
    estimate: float
    started: float = 0.0        # perf_counter() here when submitted
    submitted: float = 0.0      # time.time() when submitted (compared with the worker's clock)


def _train_pooled(dataset, specs, prep, cv_folds, progress, workers, threads, budget, estimates) -> Board:
    from concurrent.futures import FIRST_COMPLETED, wait
    start, cpu_main = time.perf_counter(), time.thread_time()
    deadline = start + budget if budget is not None else math.inf
    title = {id(s): s.title(dataset.task) for s in specs}
    waiting = _order([_Task(i, s, e) for i, s, e in zip(range(len(specs)), specs, estimates)], workers, budget)
    executor = _executor()
    running: dict = {}
    done: dict[int, object] = {}
    cut: list[tuple[int, Cut]] = []
    cpu_workers, waited = 0.0, 0.0
    try:
        while waiting or running:
            now = time.perf_counter()
            while waiting and len(running) < workers:
                task = waiting.pop(0)
                left = deadline - now
                if task.estimate > left:
                    cut.append((task.index, Cut(title[id(task.spec)], task.spec.family, "skipped", task.estimate,
                                                max(left, 0.0))))
                    continue
                task.started, task.submitted = now, time.time()
                running[executor.submit(_train_in_worker, dataset, task.spec, prep, cv_folds,
                                        None if budget is None else time.time() + left, threads)] = task
            if not running:
                break
            finished, _ = wait(list(running), timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                how, trained, cpu, began = future.result()      # a ModelDeckError in a worker is raised here
                cpu_workers += cpu
                waited = max(waited, began - task.submitted)
                if how == "done":
                    done[task.index] = trained
                elif how == "late":                       # its worker was free only after the budget ran out
                    cut.append((task.index, Cut(title[id(task.spec)], task.spec.family, "skipped", task.estimate)))
                else:
                    cut.append((task.index, Cut(title[id(task.spec)], task.spec.family, "stopped",
                                                max(time.time() - began, 0.0))))
            now = time.perf_counter()
            if running and now > deadline + STOP_GRACE_S:      # stuck in native code past its alarm: kill it
                executor.shutdown(wait=False, kill_workers=True)
                for task in running.values():
                    cut.append((task.index, Cut(title[id(task.spec)], task.spec.family, "stopped", now - task.started)))
                    cpu_workers += now - task.started          # one thread each, busy until killed
                running.clear()
            _report(progress, specs, estimates, done, running, now - start, dataset.task)
    except BaseException:
        for future in running:
            future.cancel()
        raise
    models = [done[i] for i in sorted(done)]
    progress(1.0, f"{len(models)} of {len(specs)} models trained")
    cut_in_order = [c for _i, c in sorted(cut, key=lambda pair: pair[0])]
    return Board(models, cut_in_order, time.perf_counter() - start, cpu_workers + time.thread_time() - cpu_main,
                 workers=workers, budget_seconds=budget, waited_seconds=waited)


def _order(tasks: list[_Task], workers: int, budget: float | None) -> list[_Task]:
    """Longest first when everything is expected to fit (the last task to start is a short one, so the cores
    finish together); shortest first when the budget looks too small, so that as many models as possible finish."""
    longest = sorted(tasks, key=lambda t: -t.estimate)
    if budget is None:
        return longest
    load = [0.0] * workers
    for t in longest:                                  # the expected finish of the longest-first schedule
        load[load.index(min(load))] += t.estimate
    return longest if max(load) <= budget else longest[::-1]


def _report(progress, specs, estimates, done, running, elapsed, task_kind) -> None:
    """Progress from the main process: finished models count whole, running ones by elapsed / expected time."""
    total = sum(estimates) or 1.0
    now = time.perf_counter()
    share = sum(estimates[i] for i in done)
    share += sum(min((now - t.started) / max(t.estimate, 1e-3), 0.95) * t.estimate for t in running.values())
    names = ", ".join(t.spec.title(task_kind) for t in running.values())
    message = f"{len(done)} of {len(specs)} done" + (f"; training {names}" if names else "") + f" ({elapsed:.0f} s)"
    progress(min(share / total, 0.99), message)


def train_many(dataset: Dataset, specs: list[ModelSpec], prep: PrepOptions | None = None, cv_folds: int = 5,
               progress: Progress | None = None, n_jobs: int | None = None) -> list[TrainedModel]:
    """Train several models on the same split (the leaderboard), across the cores when the work is worth it
    (`n_jobs=1`: one after the other, here). With a time budget, use `train_board`."""
    return train_board(dataset, specs, prep, cv_folds, progress, n_jobs=n_jobs).models
