"""Honest latency: the CPU's model and the instruction-set flags that change int8/bf16 conclusions, and seconds per
call at batch 1 and 256 with warm-up, a fixed thread count, and variants alternated in rounds."""
from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from core.common import Progress, no_progress
from core.compress._variant import Variant

_INTERESTING_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def cpu_info() -> dict:
    """CPU model and the instruction-set flags that change int8/bf16 conclusions (VNNI, AMX, AVX-512 BF16), the
    quantized engine PyTorch's int8 was built for, and how busy the machine was (1-minute load average)."""
    flags, model = set(), platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count(), "flags": [f for f in _INTERESTING_FLAGS if f in flags],
            "quant_engine": quant_engine(), "load_1min": round(os.getloadavg()[0], 2)}


#: quantized engines in order of preference: x86 and fbgemm measured equally fast at batch 1, onednn 2.5× and
#: qnnpack 8× slower (1.38M-parameter MLP, AVX-512 VNNI); the first one this torch build has is used
QUANT_ENGINES = ("x86", "fbgemm", "onednn", "qnnpack")


def quant_engine() -> str:
    """The quantized engine int8 networks are built for: the first of `QUANT_ENGINES` this torch supports."""
    import torch

    supported = torch.backends.quantized.supported_engines
    return next((e for e in QUANT_ENGINES if e in supported), supported[-1])


def _batch(X: np.ndarray, n: int) -> np.ndarray:
    """`n` rows of X (repeated when X is shorter), contiguous."""
    reps = math.ceil(n / max(len(X), 1))
    return np.ascontiguousarray(np.tile(X, (reps, 1))[:n])


def _time_calls(run, X: np.ndarray, n: int, out: list[float]) -> None:
    """Append the seconds of `n` calls of run(X) to `out`."""
    for _ in range(n):
        start = time.perf_counter()
        run(X)
        out.append(time.perf_counter() - start)


def time_variants(variants: list[Variant], X: np.ndarray, *, threads: int = 1, rounds: int = 5, repeats: int = 20,
                  progress: Progress = no_progress) -> dict[str, dict[str, list[float]]]:
    """Seconds per call at batch 1 and 256 for each variant: warm-up, fixed threads, variants alternated per round.

    Each round visits the variants in turn (reversed every other round), so a slow moment of a shared
    machine hits all of them rather than one. Slow variants get fewer calls per round (at least 3).
    """
    import torch

    one, big = np.ascontiguousarray(X[:1]), _batch(X, 256)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        calls = {}
        for v in variants:                       # warm-up, and a call count that bounds each variant's time
            for _ in range(3):
                v.run(one)
                v.run(big)
            start = time.perf_counter()
            v.run(big)
            calls[v.name] = (int(np.clip(0.02 / max(time.perf_counter() - start, 1e-6), 3, repeats)),
                             int(np.clip(0.05 / max(time.perf_counter() - start, 1e-6), 3, max(3, repeats // 2))))
        samples = {v.name: {"b1": [], "b256": []} for v in variants}
        for r in range(rounds):
            progress(r / rounds, f"Timing round {r + 1}/{rounds}")
            for v in (variants if r % 2 == 0 else variants[::-1]):
                n1, n256 = calls[v.name]
                _time_calls(v.run, one, max(n1, 3), samples[v.name]["b1"])
                _time_calls(v.run, big, n256, samples[v.name]["b256"])
        return samples
    finally:
        torch.set_num_threads(previous)
