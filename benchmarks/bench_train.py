"""Training benchmarks, each with a baseline measured in the same run.

1. The default leaderboard (5-fold CV, as the app does) on breast cancer and digits: serial in one process
   (baseline) vs one worker process per core (one native thread each), interleaved, medians; CPU time beside the
   wall time; the parallel scores must equal the serial ones (target on digits: < 15 s).
2. Our PyTorch MLP vs scikit-learn's MLPClassifier: same layers, epochs (at most), batch size, mean test accuracy
   over 5 seeds (target: ours ≥ sklearn's) and the fits' time (ratio = sklearn time / ours, target ≥ 1.0): each with
   its defaults (the app's zoo defaults: stopping like sklearn, dropout 0.2, weight decay 1e-3), ours without dropout
   (`MLP_LIKE_SKLEARN`), and both on one recipe.
   `python -m benchmarks.bench_train mlp` runs this part alone.
3. The MLP's LeanStep (torch.optim's functional update without step()'s wrappers) vs optimizer.step() with
   fused kernels, same fit as 2., runs interleaved; ratio = step() time / LeanStep time (keep LeanStep while ≥ 1.15).
4. Warm rerun of the Metrics page (AppTest, run store and caches warm): target under 0.3 s.
"""
from __future__ import annotations

from benchmarks.common import page_on_new_run, timed


def bench_leaderboard(repeats: int = 3) -> list[tuple]:
    """The default leaderboard (5-fold CV): serial in one process (baseline) vs one worker process per core,
    interleaved in the same run (medians of `repeats`), plus the first parallel call with cold workers."""
    import os
    import statistics

    from core.data import PrepOptions, load_builtin
    from core.models import DEFAULT_LEADERBOARD, ModelSpec
    from core.train import train_board
    from core.train import estimate_cpu_seconds
    from core.train._parallel import POOL_WORTH_CPU_S, _executor, cpu_count
    cores, rows = cpu_count(), []
    load_before = os.getloadavg()[0]
    for name in ("breast_cancer", "digits"):
        dataset = load_builtin(name)
        specs = [ModelSpec.create(f) for f in DEFAULT_LEADERBOARD]
        _executor().shutdown(wait=True, kill_workers=True)        # the next call starts fresh workers
        cold = train_board(dataset, specs, PrepOptions(), cv_folds=5, n_jobs=cores)
        boards: dict[int, list] = {1: [], cores: []}
        for r in range(repeats):                                    # interleaved: a busy moment hits both
            for n_jobs in ((1, cores) if r % 2 == 0 else (cores, 1)):
                boards[n_jobs].append(train_board(dataset, specs, PrepOptions(), cv_folds=5, n_jobs=n_jobs))
        wall = {k: statistics.median(b.wall_seconds for b in v) for k, v in boards.items()}
        cpu = {k: statistics.median(b.cpu_seconds for b in v) for k, v in boards.items()}
        same = all([m.report.cv for m in b.models] == [m.report.cv for m in boards[1][0].models]
                   for b in boards[1] + boards[cores] + [cold])
        best = boards[1][0].models
        chosen = max(best, key=lambda m: m.report.cv["accuracy"][0])
        label = f"leaderboard ({len(specs)} models, 5-fold CV) on {name}"
        rows.append((f"{label}, serial (baseline)", wall[1], f"CPU {cpu[1]:.1f} s; chosen {chosen.title}"))
        target = " (target < 15 s)" if name == "digits" else ""
        rows.append((f"{label}, {cores} workers{target}", wall[cores],
                     f"CPU {cpu[cores]:.1f} s; ×speed {wall[1] / wall[cores]:.2f}; same scores as serial: "
                     f"{'yes' if same else 'NO'}"))
        rows.append((f"{label}, {cores} workers, first call (workers start)", cold.wall_seconds,
                     f"CPU {cold.cpu_seconds:.1f} s (imports in the workers not counted)"))
        expected = sum(estimate_cpu_seconds(dataset, s, 5) for s in specs)
        rows.append((f"{label}: what train_many / the app choose", 0.0,
                     f"expected CPU {expected:.1f} s → " + ("workers" if expected >= POOL_WORTH_CPU_S else
                                                            "serial (starting workers would not pay)")))
    rows.append((f"machine load (1-min average, {cores} cores): {load_before:.1f} before, "
                 f"{os.getloadavg()[0]:.1f} after; medians of {repeats}", 0.0, ""))
    return rows


MLP_SEEDS = (0, 1, 2, 3, 4)
# Our MLP stopping the way scikit-learn's does by default (the zoo's defaults do too): no rows held out, stop once the
# training loss has improved by less than tol=1e-4 for 10 epochs; L2 through weight decay 1e-3, no dropout.
MLP_LIKE_SKLEARN = {"early_stopping": True, "validation_fraction": 0.0, "tol": 1e-4, "patience": 10, "dropout": 0.0,
                    "weight_decay": 1e-3}


def _mlp_contenders(hidden, epochs: int, batch: int) -> dict:
    """name -> (seed -> unfitted estimator), the baseline first."""
    from sklearn.neural_network import MLPClassifier

    from core.models import ModelSpec, make_estimator
    from core.models.torch_mlp import TorchMLPClassifier
    same = {"hidden": hidden, "epochs": epochs, "batch_size": batch}
    return {
        "sklearn MLPClassifier, its defaults (baseline)": lambda s: MLPClassifier(
            hidden_layer_sizes=hidden, max_iter=epochs, batch_size=batch, random_state=s),
        "TorchMLP as the app trains it (zoo defaults)": lambda s: make_estimator(
            ModelSpec.create("mlp", seed=s, **same), "classification"),
        "TorchMLP, zoo defaults without dropout": lambda s: TorchMLPClassifier(
            **same, **MLP_LIKE_SKLEARN, random_state=s),
        "sklearn, same recipe: every epoch, no L2 (base)": lambda s: MLPClassifier(
            hidden_layer_sizes=hidden, max_iter=epochs, batch_size=batch, alpha=0.0, tol=0.0,
            n_iter_no_change=epochs + 1, random_state=s),
        "TorchMLP, same recipe: every epoch, no L2": lambda s: TorchMLPClassifier(
            **same, early_stopping=False, dropout=0.0, weight_decay=0.0, random_state=s),
    }


def _scaled_splits(name: str, seeds, split_per_seed: bool) -> dict:
    """seed -> (X_train, y_train, X_test, y_test), standardised on the training rows."""
    from sklearn.preprocessing import StandardScaler

    from core.data import PrepOptions, load_builtin, split_dataset
    dataset, out = load_builtin(name), {}
    for seed in seeds:
        split = split_dataset(dataset, PrepOptions(seed=seed) if split_per_seed else PrepOptions())
        scaler = StandardScaler().fit(split.X_train.to_numpy(float))
        out[seed] = (scaler.transform(split.X_train.to_numpy(float)), split.y_train,
                     scaler.transform(split.X_test.to_numpy(float)), split.y_test)
    return out


def bench_mlp_vs_sklearn(epochs: int = 100, hidden=(64, 32), batch: int = 64, seeds=MLP_SEEDS,
                         repeats: int = 3) -> list[tuple]:
    """Our MLP against scikit-learn's MLPClassifier: same layers, epochs (at most), batch size; one fit per seed (the
    models' random_state), test accuracy averaged over the seeds. Time: the seeds' fits summed, median of `repeats`
    rounds in which every contender runs in turn (a busy machine slows all alike), with the process's CPU time beside
    it (scikit-learn's BLAS may use more than one core).

    On the app's default split: each library with its defaults (ours: the app's zoo defaults), ours without dropout,
    and both on one recipe (every epoch, no regularisation). Then the defaults again with a split of its own per
    seed, since on 114 test rows one row is 0.9 points and one split can favour either side."""
    import statistics
    import time
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    rows = []
    for name in ("breast_cancer", "digits"):
        for split_per_seed in (False, True):
            data = _scaled_splits(name, seeds, split_per_seed)
            contenders = _mlp_contenders(hidden, epochs, batch)
            if split_per_seed:
                contenders = dict(list(contenders.items())[:2])
            seconds: dict[str, list[float]] = {label: [] for label in contenders}
            cpu: dict[str, list[float]] = {label: [] for label in contenders}
            accuracy: dict[str, np.ndarray] = {}
            for _ in range(repeats):
                for label, make in contenders.items():
                    start, start_cpu, scores = time.perf_counter(), time.process_time(), []
                    for seed in seeds:
                        X_train, y_train, X_test, y_test = data[seed]
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", ConvergenceWarning)
                            model = make(seed).fit(X_train, y_train)
                        scores.append(model.score(X_test, y_test))
                    seconds[label].append(time.perf_counter() - start)
                    cpu[label].append(time.process_time() - start_cpu)
                    accuracy[label] = np.array(scores)
            where = f"{name}, {'a split per seed' if split_per_seed else 'app split'}"
            for label in contenders:
                base = next(b for b in contenders if b.startswith("sklearn") and ("same recipe" in b) ==
                            ("same recipe" in label))
                t, t_base = statistics.median(seconds[label]), statistics.median(seconds[base])
                diff = accuracy[label] - accuracy[base]
                note = f"acc {accuracy[label].mean():.4f}"
                if label != base:
                    note += (f"  Δ {100 * diff.mean():+.2f} pts (seeds better/same/worse {(diff > 0).sum()}/"
                             f"{(diff == 0).sum()}/{(diff < 0).sum()})")
                rows.append((f"{label}, {where}", t,
                             f"{note}  ×speed {t_base / t:.2f}  CPU {statistics.median(cpu[label]):.2f} s"))
    return rows


def bench_lean_step(epochs: int = 100, hidden=(64, 32), batch: int = 64, repeats: int = 7) -> list[tuple]:
    import statistics
    import time

    from sklearn.preprocessing import StandardScaler

    from core.data import PrepOptions, load_builtin, split_dataset
    from core.models.torch_mlp import TorchMLPClassifier
    rows = []
    for name in ("breast_cancer", "digits"):
        split = split_dataset(load_builtin(name), PrepOptions())
        X = StandardScaler().fit_transform(split.X_train.to_numpy(float))
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeats + 1):  # the first round warms up and is dropped
            for lean in (True, False):  # interleaved, so a busy machine slows both alike
                model = TorchMLPClassifier(hidden=hidden, epochs=epochs, batch_size=batch, early_stopping=False,
                                           dropout=0.0, weight_decay=0.0, lr=1e-3, random_state=0)
                model._lean_steps = lean
                start = time.perf_counter()
                model.fit(X, split.y_train)
                times[lean].append(time.perf_counter() - start)
        lean_s, step_s = (statistics.median(times[k][1:]) for k in (True, False))
        rows.append((f"TorchMLP Adam, optimizer.step() fused, {name} (baseline)", step_s, "×speed 1.00"))
        rows.append((f"TorchMLP Adam, LeanStep,               {name}", lean_s, f"×speed {step_s / lean_s:.2f}"))
    return rows


def bench_metrics_page(repeats: int = 5) -> list[tuple]:
    at, _run = page_on_new_run("pages/metrics.py", cv_folds=5, timeout=60)
    cold, _ = timed(at.run)
    warm, _ = timed(at.run, repeats)
    status = "OK" if warm < 0.3 else "over target"
    return [("Metrics page, first run (cold caches)", cold, ""),
            ("Metrics page, warm rerun (target < 0.3 s)", warm, f"{status}; ×{cold / warm:.1f} faster than cold")]


SECTIONS = {"leaderboard": lambda: bench_leaderboard(), "mlp": lambda: bench_mlp_vs_sklearn(),
            "lean_step": lambda: bench_lean_step(), "metrics_page": lambda: bench_metrics_page()}


def main(sections: list[str] | None = None) -> None:
    rows = [row for name in (sections or SECTIONS) for row in SECTIONS[name]()]
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>9}  notes")
    for label, seconds, notes in rows:
        print(f"{label:<{width}}  {seconds:>9.3f}  {notes}")


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
