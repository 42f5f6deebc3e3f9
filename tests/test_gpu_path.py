"""Issue 14: the GPU path (device chosen once, mixed precision, pinned memory) runs on the CPU in every test: the
same lines with autocast and the scaler off, and — forced with mixed_precision="bf16"/"fp16" — with them on;
benchmarks/gpu_check.py skips without a GPU and its checks pass (and can fail) when run on the CPU."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from core.models import TorchMLPClassifier, TorchMLPRegressor
from core.models._device import precision_for, resolve_device, to_device

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def test_precision_is_float32_on_the_cpu_and_mixed_only_when_asked():
    cpu = torch.device("cpu")
    assert precision_for(cpu, True).dtype is None and precision_for(cpu, "auto").name == "fp32"
    assert not precision_for(cpu, True).grad_scaler().is_enabled()
    bf16, fp16 = precision_for(cpu, "bf16"), precision_for(cpu, "fp16")
    assert bf16.dtype == torch.bfloat16 and not bf16.scaled and not bf16.grad_scaler().is_enabled()
    assert fp16.dtype == torch.float16 and fp16.scaled and fp16.grad_scaler().is_enabled()
    with bf16.autocast():
        assert (torch.ones(2, 3) @ torch.ones(3, 2)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        precision_for(cpu, "int8")
    with pytest.raises(ValueError, match="mixed_precision"):
        TorchMLPClassifier(mixed_precision="half").fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_the_device_is_chosen_once_and_a_missing_gpu_is_said():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_rows_reach_the_cpu_without_a_copy():
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    tensor = to_device(rows, torch.device("cpu"))
    assert tensor.data_ptr() == rows.ctypes.data                             # a view: no copy on the CPU
    assert to_device(np.array([1, 0]), torch.device("cpu"), np.int64).dtype == torch.int64


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_training_runs_on_the_cpu_and_learns_the_same(cancer, precision):
    X_tr, X_te, y_tr, y_te = cancer
    params = dict(hidden=(32, 16), epochs=25, early_stopping=False, random_state=0)
    exact = TorchMLPClassifier(**params).fit(X_tr, y_tr)
    mixed = TorchMLPClassifier(**params, mixed_precision=precision).fit(X_tr, y_tr)
    assert mixed.precision_ == precision and exact.precision_ == "fp32"
    assert abs(mixed.score(X_te, y_te) - exact.score(X_te, y_te)) <= 0.02
    assert (mixed.predict(X_te) == exact.predict(X_te)).mean() >= 0.97
    assert all(np.isfinite(h["train_loss"]) for h in mixed.history_)
    assert mixed.predict_proba(X_te).dtype == np.float64


def test_mixed_precision_inference_stays_close_to_float32(cancer):
    X_tr, X_te, y_tr, _ = cancer
    model = TorchMLPClassifier(hidden=(32, 16), epochs=10, random_state=0).fit(X_tr, y_tr)
    exact = model.predict_proba(X_te)
    model.set_params(mixed_precision="bf16")
    rough = model.predict_proba(X_te)
    assert 0 < np.abs(rough - exact).max() < 3e-2                           # it did run in bf16, and closely
    reg = TorchMLPRegressor(hidden=(16,), epochs=5, mixed_precision="bf16").fit(X_tr, X_tr[:, 0])
    assert reg.precision_ == "bf16" and np.isfinite(reg.predict(X_te)).all()


def test_gpu_check_skips_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: benchmarks/gpu_check.py runs its checks instead")
    done = subprocess.run([sys.executable, "benchmarks/gpu_check.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "no GPU: skipped"


def test_gpu_check_compares_for_real_when_run_on_the_cpu():
    from benchmarks.gpu_check import run_checks
    results = run_checks("cpu", "bf16")
    assert len(results) == 8 and all(passed for _check, passed, _figures in results), results
    strict = run_checks("cpu", "bf16", proba_amp=0.0)                       # bf16 is not exact: these must fail
    failed = [check for check, passed, _ in strict if not passed]
    assert failed and all("mixed precision" in check for check in failed)
