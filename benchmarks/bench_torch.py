"""`python -m benchmarks torch`: samples per second of the PyTorch MLP, training and inference, on each device and
precision this machine has; ratios against the CPU in float32 (the baseline), measured in the same run.

- CPU float32 (baseline, what a CPU fit uses), CPU bfloat16 and float16 autocast (forced with
  `mixed_precision="bf16"/"fp16"`, to show why the CPU stays in float32 by default);
- where a CUDA GPU is present: float32, and automatic mixed precision (bf16 where the GPU supports it, else fp16
  with a gradient scaler) — the default on a GPU.

Two workloads: a small table (breast-cancer size, (64, 32), batch 64: per-step overhead dominates) and a larger
synthetic one (10,000 × 64, (256, 128), batch 512: arithmetic dominates). Training: epochs × rows / fit seconds
(no early stopping, one warm-up fit first, median of `repeats`); inference: rows / predict_proba seconds.
"""
from __future__ import annotations

import statistics
import time

WORKLOADS = {  # name -> (rows, columns, hidden, batch, epochs)
    "small table": (455, 30, (64, 32), 64, 20),
    "larger table": (10_000, 64, (256, 128), 512, 2),
}


def _data(rows: int, cols: int):
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, cols)).astype(np.float32)
    y = (X[:, :4].sum(axis=1) + 0.5 * rng.normal(size=rows) > 0).astype(int)
    return X, y


def settings() -> list[tuple[str, str, object]]:
    """(label, device, mixed_precision) for every setting this machine can run, the baseline first."""
    import torch
    out = [("CPU fp32 (baseline)", "cpu", False), ("CPU bf16 autocast", "cpu", "bf16"),
           ("CPU fp16 autocast", "cpu", "fp16")]
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        out += [(f"GPU fp32 ({name})", "cuda", False), (f"GPU mixed precision ({name})", "cuda", True)]
    return out


def measure(device: str, mixed_precision, rows: int, cols: int, hidden, batch: int, epochs: int,
            repeats: int = 3) -> tuple[float, float, str, float]:
    """(training samples/s, inference samples/s, precision used, training accuracy)."""
    from core.models import TorchMLPClassifier
    X, y = _data(rows, cols)
    model = TorchMLPClassifier(hidden=hidden, batch_size=batch, epochs=1, early_stopping=False, device=device,
                               mixed_precision=mixed_precision, random_state=0)
    model.fit(X, y)                                   # warm-up: kernels, allocator, CUDA context
    model.set_params(epochs=epochs)
    fits, predicts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(X, y)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.predict_proba(X)
        predicts.append(time.perf_counter() - start)
    accuracy = float((model.predict(X) == y).mean())
    return epochs * rows / statistics.median(fits), rows / statistics.median(predicts), model.precision_, accuracy


def main() -> None:
    import torch
    if not torch.cuda.is_available():
        print("No CUDA GPU on this machine: CPU rows only (the GPU rows appear where there is one).")
    print(f"{'workload':<14}{'setting':<40}{'train samples/s':>16}{'×':>7}{'infer samples/s':>17}{'×':>7}"
          f"{'train acc':>11}")
    for workload, (rows, cols, hidden, batch, epochs) in WORKLOADS.items():
        base = None
        for label, device, precision in settings():
            train, infer, used, accuracy = measure(device, precision, rows, cols, hidden, batch, epochs)
            base = base or (train, infer)
            print(f"{workload:<14}{label + f' [{used}]':<40}{train:>16,.0f}{train / base[0]:>7.2f}{infer:>17,.0f}"
                  f"{infer / base[1]:>7.2f}{accuracy:>11.3f}")


if __name__ == "__main__":
    main()
