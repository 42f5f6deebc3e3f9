"""Tuning benchmarks: how fast each search strategy gets close to the best, and how workers scale.

1. Strategies. On a fixed space — histogram gradient boosting on the churn data (ROC AUC) and the PyTorch MLP on
   digits (accuracy), 2-fold CV on the training split — every strategy (grid in a shuffled order, random, TPE, GP)
   runs the same budget for each seed. Per seed, the target is the best score ANY strategy found; we report the
   median number of trials each strategy needed to come within 0.1 point (0.001) of it, how many seeds it got
   there at all, and the median best score after the budget. Baseline: random search (×trials = random / it).
2. Workers. Trials per minute on one study with 1 worker process vs 2 (`python -m core tune-worker`), with process
   start-up included and from the first trial's start to the last one's end; baseline: 1 worker.

Sizes are parameters (environment): TUNE_BENCH_SEEDS (default 5), TUNE_BENCH_BUDGET_HGB (16), TUNE_BENCH_BUDGET_MLP
(12), TUNE_BENCH_WORKER_TRIALS (40), TUNE_BENCH_JOBS (2 studies at a time; trial counts do not depend on it).
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("MODELDECK_HOME", tempfile.mkdtemp(prefix="modeldeck-bench-"))

STRATEGIES = ("grid", "random", "tpe", "gp")


def _spaces():
    from core.tune import Dim, SearchSpace
    hist_gb = SearchSpace("hist_gb", (
        Dim("learning_rate", "float", 0.01, 0.5, log=True), Dim("max_iter", "int", 20, 100, log=True),
        Dim("max_leaf_nodes", "int", 4, 32, log=True), Dim("l2_regularization", "float", 0.0, 5.0)))
    mlp = SearchSpace("mlp", (
        Dim("hidden", "choice", choices=("32", "64", "64,32")), Dim("lr", "float", 1e-4, 1e-1, log=True),
        Dim("dropout", "float", 0.0, 0.5), Dim("optimizer", "choice", choices=("sgd", "adam")),
        Dim("batch_size", "int", 32, 256, log=True), Dim("weight_decay", "float", 1e-6, 1e-2, log=True)),
        {"epochs": 15, "patience": 5})
    return {"churn / gradient boosting (ROC AUC)": ("builtin:churn", hist_gb, "roc_auc"),
            "digits / PyTorch MLP (accuracy)": ("builtin:digits", mlp, "accuracy")}


def _config(case: str, strategy: str, seed: int, budget: int):
    from core.tune import TuneConfig
    key, space, metric = _spaces()[case]
    return TuneConfig(key, space, metric, strategy, budget, cv_folds=2, seed=seed, grid_points=3)


def _curve(job: tuple[str, str, int, int]) -> tuple[tuple[str, str, int], list[float]]:
    """Run one study in this process; return its best-so-far curve (one value per complete trial)."""
    from core import tune
    case, strategy, seed, budget = job
    name = tune.create_study(_config(case, strategy, seed, budget))
    tune.run_worker(name)
    return (case, strategy, seed), tune.study_status(name).best_so_far()[1]


def bench_strategies(seeds: int, budgets: dict[str, int], jobs: int) -> list[tuple]:
    import multiprocessing

    from core.tune import CLOSE, open_storage, trials_to_reach
    open_storage()     # create the tables once, before several processes open the database
    work = [(case, s, seed, budgets[case]) for case in budgets for seed in range(seeds) for s in STRATEGIES]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        curves = dict(pool.map(_curve, work))
    rows = []
    for case, budget in budgets.items():
        reach: dict[str, list[int | None]] = {s: [] for s in STRATEGIES}
        finals: dict[str, list[float]] = {s: [] for s in STRATEGIES}
        for seed in range(seeds):
            mine = {s: curves[(case, s, seed)] for s in STRATEGIES}
            target = max(c[-1] for c in mine.values())          # both metrics are maximised
            for s, curve in mine.items():
                reach[s].append(trials_to_reach(curve, target, "maximize", CLOSE))
                finals[s].append(curve[-1])
        base = _median_trials(reach["random"], budget)
        for s in STRATEGIES:
            med = _median_trials(reach[s], budget)
            rows.append((case, s, budget, med, sum(r is not None for r in reach[s]), seeds,
                         statistics.median(finals[s]), base / med))
    return rows


def _median_trials(reached: list[int | None], budget: int) -> float:
    """Median trials to the target; a seed that never got there counts as budget + 1 (a lower bound)."""
    return float(statistics.median(r if r is not None else budget + 1 for r in reached))


def bench_workers(trials: int) -> list[tuple]:
    from core import tune
    case = "churn / gradient boosting (ROC AUC)"
    rows, base, base_running = [], None, None
    for n_workers in (1, 2):
        name = tune.create_study(_config(case, "random", 0, trials))
        start = time.perf_counter()
        tune.start_workers(name, n_workers)
        while not tune.study_status(name).done:
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        status = tune.study_status(name)
        running = (max(t.datetime_complete for t in status.trials) - min(t.datetime_start for t in status.trials))
        per_min, per_min_running = 60 * status.n_complete / seconds, 60 * status.n_complete / running.total_seconds()
        base, base_running = base or per_min, base_running or per_min_running
        rows.append((f"{n_workers} worker process{'es' * (n_workers > 1)}", trials, seconds, per_min, per_min / base,
                     per_min_running, per_min_running / base_running))
    return rows


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def main() -> None:
    seeds = _env_int("TUNE_BENCH_SEEDS", 5)
    cases = list(_spaces())
    budgets = {cases[0]: _env_int("TUNE_BENCH_BUDGET_HGB", 16), cases[1]: _env_int("TUNE_BENCH_BUDGET_MLP", 12)}
    start = time.perf_counter()
    rows = bench_strategies(seeds, budgets, _env_int("TUNE_BENCH_JOBS", 2))
    print(f"Strategies over {seeds} seeds (target: best score any strategy found for that seed, within 0.1 point)")
    print(f"{'data / model':<38}{'strategy':<9}{'budget':>7}{'median trials':>15}{'reached':>9}"
          f"{'median best':>13}{'×trials vs random':>19}")
    for case, strategy, budget, med, hit, n, best, ratio in rows:
        trials = f">{budget}" if med > budget else f"{med:.1f}"
        print(f"{case:<38}{strategy:<9}{budget:>7}{trials:>15}{f'{hit}/{n}':>9}{best:>13.4f}{ratio:>19.2f}")
    print("A seed whose strategy never came within 0.1 point counts as budget + 1 trials in the median.")
    print(f"(strategies: {time.perf_counter() - start:.0f} s)\n")
    print("Workers sharing one study (churn / gradient boosting, random search; process start-up included)")
    print(f"{'':<36}{'with start-up':^27}{'first trial to last':^27}")
    print(f"{'workers':<20}{'trials':>7}{'seconds':>9}{'trials/min':>14}{'×speed':>8}{'':>5}{'trials/min':>14}"
          f"{'×speed':>8}")
    for label, trials, seconds, per_min, ratio, per_min_running, ratio_running in bench_workers(
            _env_int("TUNE_BENCH_WORKER_TRIALS", 40)):
        print(f"{label:<20}{trials:>7}{seconds:>9.1f}{per_min:>14.1f}{ratio:>8.2f}{'':>5}{per_min_running:>14.1f}"
              f"{ratio_running:>8.2f}")
    print(f"({os.cpu_count()} CPU cores; load average at the end {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
