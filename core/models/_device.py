"""Where, in which precision and on how many threads the networks run.

- `resolve_device`: the device, chosen once per fit ("auto": the CUDA GPU when there is one, else the CPU).
- `precision_for` → `Precision`: automatic mixed precision on a GPU (bfloat16 where the GPU supports it, else
  float16 with a gradient scaler), full float32 on the CPU; "bf16" / "fp16" force a precision on any device (the
  tests run the mixed-precision path on the CPU that way). Training and inference use the same object, so the
  CPU runs the very lines a GPU runs, with autocast and the scaler switched off.
- `to_device`: numpy rows onto the device, through pinned memory with a non-blocking copy on a GPU.
- `intra_op_threads`: a context manager that runs a block on n torch intra-op threads and then restores the
  caller's setting, with `threads_for` choosing 1 thread for passes too small to gain from more.

Small networks train on one thread because OpenMP threads make tiny matmuls several times slower, and
10x+ slower on a busy machine. Explanations and compression use `intra_op_threads` for the same reason.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import torch

PRECISIONS = (True, False, "auto", "bf16", "fp16", "fp32")   # accepted values of `mixed_precision`


def resolve_device(device: Any) -> "torch.device":
    """The device a fit runs on; a CUDA device always carries its index (the current one, which torchrun's
    process sets to its local rank)."""
    import torch

    name = "auto" if device is None else str(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = torch.device(name)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device='{name}' was requested but no CUDA GPU is available; use device='auto' or 'cpu'.")
        if resolved.index is None:
            resolved = torch.device("cuda", torch.cuda.current_device())
    return resolved


@dataclass(frozen=True)
class Precision:
    """How a network computes on its device: `dtype` is the autocast type (None: plain float32)."""

    device: "torch.device"
    dtype: "torch.dtype | None" = None

    @property
    def name(self) -> str:
        import torch
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")

    @property
    def scaled(self) -> bool:
        """float16 needs a gradient scaler (its small range loses small gradients); bfloat16 does not."""
        import torch
        return self.dtype == torch.float16

    def autocast(self):
        """The context a forward pass (and its loss) runs in: autocast to `dtype`, or nothing at all."""
        if self.dtype is None:
            return nullcontext()
        import torch
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> "torch.amp.GradScaler":
        """A gradient scaler, switched off unless the precision is float16."""
        import torch
        return torch.amp.GradScaler(self.device.type, enabled=self.scaled)


def precision_for(device: "torch.device", mixed_precision: Any = True) -> Precision:
    """True / "auto": bf16 on a GPU that supports it, else fp16; float32 on the CPU. False / "fp32": float32
    everywhere. "bf16" / "fp16": that precision on any device.

    The CPU stays in float32 by default: CPU fits are then exact and reproducible (a two-process run equals a
    one-process run), and on the small tables ModelDeck mostly sees bf16 autocast trained slower than float32 on this
    machine's AVX512 CPU, fp16 slower still (`python -m benchmarks torch` measures it on yours)."""
    import torch

    if mixed_precision not in PRECISIONS:
        raise ValueError(f"mixed_precision must be one of {', '.join(map(repr, PRECISIONS))}, got {mixed_precision!r}.")
    if mixed_precision in ("bf16", "fp16"):
        return Precision(device, torch.bfloat16 if mixed_precision == "bf16" else torch.float16)
    if mixed_precision in (False, "fp32") or device.type != "cuda":
        return Precision(device)
    bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    return Precision(device, torch.bfloat16 if bf16 else torch.float16)


def to_device(array: "np.ndarray", device: "torch.device", dtype: "np.dtype | None" = None) -> "torch.Tensor":
    """Rows as a tensor on `device`: a view of the numpy array on the CPU; on a GPU a copy through pinned
    (page-locked) memory, sent without waiting (the next kernel on the stream waits for it)."""
    import numpy as np
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=dtype))
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


# Below this many multiply-adds per layer and batch (batch_size x the largest weight matrix),
# a step is a few dozen tiny kernels and OpenMP/MKL threads only add wake-up and barrier costs:
# on a 2-core machine a 64x64x64 matmul took 9 µs on one thread and 25-260 µs on two, worse
# when other processes keep the cores busy. Bigger layers keep torch's thread setting.
_SINGLE_THREAD_WORK = 2**21


@contextmanager
def intra_op_threads(n: int | None):
    """Run the block with n torch intra-op threads, then restore the caller's setting.

    torch.set_num_threads acts on the calling thread's OpenMP/MKL setting (other Python threads,
    e.g. other Streamlit sessions, keep theirs), and the previous value is restored on exit.
    `n=None` leaves the setting as it is.
    """
    import torch

    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def threads_for(rows: int, arch: dict, device: "torch.device") -> int | None:
    """1 when a pass over `rows` rows is small enough that threads cost more than they give, else None."""
    widths = [arch["n_in"], *arch["hidden"], arch["n_out"]]
    widest = max(a * b for a, b in zip(widths, widths[1:]))
    return 1 if device.type == "cpu" and rows * widest <= _SINGLE_THREAD_WORK else None
