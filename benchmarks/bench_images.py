"""Image benchmarks (issue 13), every ratio against a baseline measured in the same run.

1. Training: seconds per epoch of the CNN on 8×8 digits and the 28×28 MNIST sample (training split, batch 64) on
   one CPU thread and on torch's default threads, against the PyTorch MLP on the same pixels; then the full
   default training (early stopping, seed 42) with its test accuracy — CNN against MLP, both stated.
2. Inference: pictures per second at batch 1 and batch 256, CNN against MLP.
3. Augmentation: pictures per second that `augment_batch` produces (every transform on, batch 64, one thread)
   against the pictures per second one CNN training step consumes. Must stay far above 1×: never the bottleneck.
4. Attribution time per picture for each method (Integrated Gradients, GradientShap, SHAP DeepExplainer, LIME at
   1,000 samples) against one plain forward + backward pass (saliency) per picture.
GPU rows appear when CUDA is present.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

import benchmarks.common  # noqa: F401  (a private run store)

warnings.filterwarnings("ignore")
SETS = (("builtin:digits", "digits 8×8"), ("images:mnist", "MNIST sample 28×28"))


def _data(key: str):
    from core.data import PrepOptions, load_dataset, split_dataset
    dataset = load_dataset(key)
    split = split_dataset(dataset, PrepOptions())
    return dataset, split, split.X_train.to_numpy(np.float32), split.y_train.to_numpy()


def _epoch_seconds(estimator, X, y, epochs: int = 3) -> float:
    """Median seconds per epoch over `epochs` epochs (no validation split)."""
    estimator.set_params(epochs=epochs, early_stopping=False)
    estimator.fit(X, y)
    times = np.diff([0.0] + [h["seconds"] for h in estimator.history_])
    return float(np.median(times[1:] if len(times) > 1 else times))


def training_table() -> None:
    import torch

    from core.models import TorchCNNClassifier, TorchMLPClassifier, intra_op_threads
    print("\n1. Training, seconds per epoch on the training split (batch 64); ratio = CNN / MLP (same pixels, same run)")
    print(f"{'data':22s} {'threads':>8s} {'MLP s/ep':>9s} {'CNN s/ep':>9s} {'CNN/MLP':>8s}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for key, name in SETS:
        _ds, _split, X, y = _data(key)
        for device in devices:
            for threads in ((1, torch.get_num_threads()) if device == "cpu" else (None,)):
                with intra_op_threads(threads):
                    mlp = _epoch_seconds(TorchMLPClassifier(hidden=(64, 32), device=device), X, y)
                    cnn_s = _epoch_seconds(TorchCNNClassifier(device=device, threads=threads), X, y)
                label = f"{device}:{threads}" if threads else device
                print(f"{name:22s} {label:>8s} {mlp:9.3f} {cnn_s:9.3f} {cnn_s / mlp:7.1f}x")


def accuracy_table() -> None:
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.train import train_model
    print("\n   Full default training (early stopping, seed 42), test accuracy measured once per model")
    print(f"{'data':22s} {'model':>5s} {'test acc':>9s} {'epochs':>7s} {'fit s':>7s}")
    for key, name in SETS:
        dataset = load_dataset(key)
        for family in ("mlp", "cnn"):
            trained = train_model(dataset, ModelSpec.create(family), PrepOptions(), cv_folds=0)
            print(f"{name:22s} {family.upper():>5s} {trained.report.test['accuracy']:9.1%} {len(trained.history):7d} "
                  f"{trained.fit_seconds:7.1f}")


def _rate(fn, pictures: int, repeats: int = 5) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return pictures / best


def inference_table() -> None:
    from core.models import TorchCNNClassifier, TorchMLPClassifier
    print("\n2. Inference on the CPU, pictures per second (best of 5); ratio = CNN / MLP")
    print(f"{'data':22s} {'batch':>6s} {'MLP pic/s':>11s} {'CNN pic/s':>11s} {'CNN/MLP':>8s}")
    for key, name in SETS:
        _ds, split, X, y = _data(key)
        X_test = split.X_test.to_numpy(np.float32)
        mlp = TorchMLPClassifier(epochs=2, early_stopping=False).fit(X, y)
        cnn = TorchCNNClassifier(epochs=2, early_stopping=False).fit(X, y)
        for batch in (1, 256):
            rows = X_test[:batch] if batch > 1 else X_test[:1]
            reps = 200 if batch == 1 else 5
            m = _rate(lambda: [mlp.predict_proba(rows) for _ in range(reps)], batch * reps)
            c = _rate(lambda: [cnn.predict_proba(rows) for _ in range(reps)], batch * reps)
            print(f"{name:22s} {batch:6d} {m:11,.0f} {c:11,.0f} {c / m:7.2f}x")


def augmentation_table() -> None:
    import torch

    from core.data import Augment, augment_batch
    from core.models import TorchCNNClassifier, intra_op_threads
    strong = Augment(shift=0.1, rotation=15, flip="horizontal", brightness=0.2, contrast=0.2, noise=0.05, blur=1.0)
    print("\n3. Augmentation (every transform on, batch 64, one thread) against what CNN training consumes")
    print(f"{'data':22s} {'augment pic/s':>14s} {'train pic/s':>12s} {'headroom':>9s}")
    for key, name in SETS:
        _ds, _split, X, y = _data(key)
        cnn = TorchCNNClassifier(epochs=2, early_stopping=False).fit(X, y)
        shape = cnn.arch_["image_shape"]
        batch = torch.from_numpy(X[:64]).view(64, *shape)
        generator = torch.Generator().manual_seed(0)
        with intra_op_threads(1):
            augment = _rate(lambda: [augment_batch(batch, strong, generator, (0.0, float(X.max()))) for _ in range(20)],
                            64 * 20)
        consumed = len(X) / (np.diff([0.0] + [h["seconds"] for h in cnn.history_])[-1])
        print(f"{name:22s} {augment:14,.0f} {consumed:12,.0f} {augment / consumed:8.1f}x")


def attribution_table() -> None:
    import torch

    from core import explain as ex
    from core.data import PrepOptions
    from core.models import ModelSpec
    from core.train import train_model
    print("\n4. Attribution time per picture (20 test pictures; LIME on 3) against a plain forward + backward pass")
    print(f"{'data':22s} {'method':34s} {'ms/picture':>11s} {'x saliency':>11s}")
    for key, name in SETS:
        dataset, split, _X, _y = _data(key)
        trained = train_model(dataset, ModelSpec.create("cnn", epochs=3), PrepOptions(), cv_folds=0)
        pm = ex.picture_model(trained.pipeline)
        pictures, truths = pm.pixels(split.X_test.iloc[:20]), split.y_test.iloc[:20].to_numpy()
        background = pm.pixels(split.X_train.iloc[:50])

        def saliency():
            x = torch.from_numpy(pictures).requires_grad_()
            pm.body(x).max(dim=1).values.sum().backward()
        base = 1000 / _rate(saliency, len(pictures))
        rows = {
            "Integrated Gradients (32 steps)": (lambda: ex.attribute(pm, pictures, truths), len(pictures)),
            "GradientShap (32 samples)": (lambda: ex.attribute(pm, pictures, truths, "gradient_shap", background),
                                          len(pictures)),
            "DeepExplainer (every class, 20 bg)": (lambda: ex.deep_shap_check(pm, pictures, truths, background[:20]),
                                                   len(pictures)),
            "LIME (1,000 samples)": (lambda: [ex.lime_regions(pm, p, t) for p, t in zip(pictures[:3], truths[:3])], 3),
        }
        for method, (fn, count) in rows.items():
            ms = 1000 / _rate(fn, count, repeats=2)
            print(f"{name:22s} {method:34s} {ms:11.2f} {ms / base:10.0f}x")


def main() -> None:
    training_table()
    accuracy_table()
    inference_table()
    augmentation_table()
    attribution_table()


if __name__ == "__main__":
    main()
