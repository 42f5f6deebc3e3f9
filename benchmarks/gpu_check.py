"""`python benchmarks/gpu_check.py`: the GPU path end to end against the CPU; exit status 1 on any mismatch beyond
tolerance, 0 when everything agrees. On a machine without a CUDA GPU it prints "no GPU: skipped" and exits 0.

On breast cancer and digits (the app's split, the same seed), for the PyTorch MLP:
1. inference: a network trained on the CPU, copied to the GPU, gives the CPU's probabilities — within `PROBA_FP32`
   in float32, within `PROBA_AMP` under mixed precision (the GPU default), with the same label on ≥ `AGREE_INFER`
   of the rows;
2. training: the same MLP trained on the GPU (mixed precision, pinned memory, non-blocking copies) and on the CPU
   reaches a test accuracy within `ACCURACY` and gives the same label on ≥ `AGREE_TRAIN` of the test rows (the two
   devices add in different orders, so the weights drift apart a little; they are not expected to be equal);
3. persistence: the GPU-trained model, pickled and restored (on the CPU, as a saved run opens), gives the labels it
   gave on the GPU on ≥ `AGREE_INFER` of the rows.
With two GPUs or more, `torchrun --standalone --nproc_per_node 2` (NCCL) must train like one process (`--ddp`).

`run_checks(device, mixed_precision)` does the work for any device, so the tests run it on the CPU (with bf16
autocast standing in for the GPU's mixed precision).
"""
from __future__ import annotations

import copy
import pickle
import sys

PROBA_FP32 = 1e-4      # largest probability difference, same weights, float32 on both devices
PROBA_AMP = 3e-2       # … under mixed precision (bf16 keeps ~3 significant digits)
AGREE_INFER = 0.99     # share of rows with the same label, same weights
ACCURACY = 0.02        # test accuracy, trained on each device
AGREE_TRAIN = 0.97     # share of test rows with the same label, trained on each device


def _data(name: str):
    from sklearn.preprocessing import StandardScaler

    from core.data import PrepOptions, load_builtin, split_dataset
    split = split_dataset(load_builtin(name), PrepOptions())
    scaler = StandardScaler().fit(split.X_train.to_numpy(float))
    return (scaler.transform(split.X_train.to_numpy(float)), split.y_train.to_numpy(),
            scaler.transform(split.X_test.to_numpy(float)), split.y_test.to_numpy())


def _model(device: str, mixed_precision):
    from core.models import TorchMLPClassifier
    return TorchMLPClassifier(hidden=(64, 32), epochs=40, early_stopping=False, weight_decay=1e-3, random_state=0,
                              device=device, mixed_precision=mixed_precision)


def _on(model, device: str, mixed_precision):
    """A copy of a fitted model whose network runs on `device` in `mixed_precision`."""
    moved = copy.deepcopy(model)
    moved.net_ = moved.net_.to(device)
    return moved.set_params(device=device, mixed_precision=mixed_precision)


def run_checks(device: str, mixed_precision, *, proba_fp32: float = PROBA_FP32, proba_amp: float = PROBA_AMP,
               agree_infer: float = AGREE_INFER, accuracy: float = ACCURACY,
               agree_train: float = AGREE_TRAIN) -> list[tuple[str, bool, str]]:
    """(check, passed, figures) for every check on `device` against the CPU."""
    import numpy as np
    results = []
    for name in ("breast_cancer", "digits"):
        X_train, y_train, X_test, y_test = _data(name)
        cpu = _model("cpu", False).fit(X_train, y_train)
        cpu_proba = cpu.predict_proba(X_test)
        for label, precision, limit in (("float32", False, proba_fp32), ("mixed precision", mixed_precision,
                                                                         proba_amp)):
            there = _on(cpu, device, precision)
            gap = float(np.abs(there.predict_proba(X_test) - cpu_proba).max())
            agree = float((there.predict(X_test) == cpu.predict(X_test)).mean())
            results.append((f"{name}: CPU weights on {device}, {label}",
                            gap <= limit and agree >= agree_infer,
                            f"largest probability gap {gap:.1e} (limit {limit:.0e}), same label {agree:.1%}"))
        gpu = _model(device, mixed_precision).fit(X_train, y_train)
        acc_gpu, acc_cpu = gpu.score(X_test, y_test), cpu.score(X_test, y_test)
        agree = float((gpu.predict(X_test) == cpu.predict(X_test)).mean())
        results.append((f"{name}: trained on {device} [{gpu.precision_}] vs on the CPU",
                        abs(acc_gpu - acc_cpu) <= accuracy and agree >= agree_train,
                        f"test accuracy {acc_gpu:.3f} vs {acc_cpu:.3f}, same label {agree:.1%}"))
        restored = pickle.loads(pickle.dumps(gpu))
        agree = float((restored.predict(X_test) == gpu.predict(X_test)).mean())
        results.append((f"{name}: {device}-trained model restored on {restored.device_}", agree >= agree_infer,
                        f"same label {agree:.1%}"))
    return results


def ddp_check() -> tuple[str, bool, str]:
    """Two processes on two GPUs (NCCL) against one process: `torchrun … -m core train` metrics."""
    import json
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    args = ["-m", "core", "train", "--dataset", "breast_cancer", "--param", "epochs=15", "--param", "dropout=0",
            "--cv", "0", "--json"]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          *args], cwd=root, capture_output=True, text=True, timeout=600)
    one = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True, timeout=600)
    if two.returncode or one.returncode:
        return "torchrun NCCL, 2 processes", False, (two.stderr or one.stderr)[-500:]
    a, b = (json.loads(p.stdout)["metrics"]["test"] for p in (one, two))
    gap = max(abs(a[k] - b[k]) for k in a)
    return "torchrun NCCL, 2 processes vs 1", gap <= 0.02, f"largest test-metric gap {gap:.1e}"


def main(argv: list[str] | None = None) -> int:
    import torch
    argv = sys.argv[1:] if argv is None else argv
    if not torch.cuda.is_available():
        print("no GPU: skipped")
        return 0
    results = run_checks("cuda", True)
    if torch.cuda.device_count() >= 2 or "--ddp" in argv:
        results.append(ddp_check())
    for check, passed, figures in results:
        print(f"{'ok  ' if passed else 'FAIL'}  {check}: {figures}")
    failed = [r for r in results if not r[1]]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed on {torch.cuda.get_device_name(0)}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
