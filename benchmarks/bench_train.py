"""Training benchmarks, each with a baseline measured in the same run.

1. The default leaderboard (5-fold CV, as the app does) on breast cancer and digits: serial in one process
   (baseline) vs one worker process per core (one native thread each), interleaved, medians; CPU time beside the
   wall time; the parallel scores must equal the serial ones (target on digits: < 15 s).
2. Our PyTorch MLP vs scikit-learn's MLPClassifier: same layers, epochs, batch size, optimizer (Adam), no early
   stopping; ratio = sklearn time / ours (target ≥ 1.0: ours no slower), accuracy side by side.
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
    from core.train._parallel import _executor, cpu_count
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
    rows.append((f"machine load (1-min average, {cores} cores): {load_before:.1f} before, "
                 f"{os.getloadavg()[0]:.1f} after; medians of {repeats}", 0.0, ""))
    return rows


def bench_mlp_vs_sklearn(epochs: int = 100, hidden=(64, 32), batch: int = 64, repeats: int = 3) -> list[tuple]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.data import load_builtin
    from core.models.torch_mlp import TorchMLPClassifier
    from core.data import PrepOptions, split_dataset
    rows = []
    for name in ("breast_cancer", "digits"):
        dataset = load_builtin(name)
        split = split_dataset(dataset, PrepOptions())
        X_train, X_test = split.X_train.to_numpy(float), split.X_test.to_numpy(float)
        ours = make_pipeline(StandardScaler(), TorchMLPClassifier(hidden=hidden, epochs=epochs, batch_size=batch,
                                                                  early_stopping=False, dropout=0.0, weight_decay=0.0,
                                                                  lr=1e-3, random_state=0))
        theirs = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=hidden, max_iter=epochs,
                                                               batch_size=batch, early_stopping=False, alpha=0.0,
                                                               learning_rate_init=1e-3, tol=0.0,
                                                               n_iter_no_change=epochs + 1, random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t_base, _ = timed(lambda: theirs.fit(X_train, split.y_train), repeats)
        t_ours, _ = timed(lambda: ours.fit(X_train, split.y_train), repeats)
        acc_base, acc_ours = theirs.score(X_test, split.y_test), ours.score(X_test, split.y_test)
        rows.append((f"sklearn MLPClassifier {hidden}, {epochs} epochs, {name} (baseline)", t_base,
                     f"acc {acc_base:.3f}  ×speed 1.00"))
        rows.append((f"ModelDeck TorchMLP     {hidden}, {epochs} epochs, {name}", t_ours,
                     f"acc {acc_ours:.3f}  ×speed {t_base / t_ours:.2f}"))
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


def main() -> None:
    rows = bench_leaderboard() + bench_mlp_vs_sklearn() + bench_lean_step() + bench_metrics_page()
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>9}  notes")
    for label, seconds, notes in rows:
        print(f"{label:<{width}}  {seconds:>9.3f}  {notes}")


if __name__ == "__main__":
    main()
