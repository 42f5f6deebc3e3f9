"""Training benchmarks, each with a baseline measured in the same run.

1. Load + train the default leaderboard (5-fold CV, as the app does) on breast cancer and digits.
2. Our PyTorch MLP vs scikit-learn's MLPClassifier: same layers, epochs, batch size, optimizer (Adam), no early
   stopping; ratio = sklearn time / ours (target ≥ 1.0: ours no slower), accuracy side by side.
3. The MLP's LeanStep (torch.optim's functional update without step()'s wrappers) vs optimizer.step() with
   fused kernels, same fit as 2., runs interleaved; ratio = step() time / LeanStep time (keep LeanStep while ≥ 1.15).
4. Warm rerun of the Metrics page (AppTest, run store and caches warm): target under 0.3 s.
"""
from __future__ import annotations

from benchmarks.common import page_on_new_run, timed


def bench_leaderboard() -> list[tuple]:
    from core.data import load_builtin
    from core.models import DEFAULT_LEADERBOARD, ModelSpec
    from core.data import PrepOptions
    from core.train import train_many
    rows = []
    for name in ("breast_cancer", "digits"):
        def run():
            dataset = load_builtin(name)
            return train_many(dataset, [ModelSpec.create(f) for f in DEFAULT_LEADERBOARD], PrepOptions(), cv_folds=5)
        seconds, models = timed(run)
        best = max(models, key=lambda m: m.report.test["accuracy"])
        rows.append((f"leaderboard ({len(models)} models, 5-fold CV) on {name}", seconds,
                     f"best {best.title} {best.report.test['accuracy']:.3f}"))
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
