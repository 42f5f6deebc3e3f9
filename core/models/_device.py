"""Where and on how many threads the MLP runs: `resolve_device` ("auto" picks a CUDA GPU when there is
one) and `intra_op_threads`, a context manager that runs a block on n torch intra-op threads and then
restores the caller's setting, with `threads_for` choosing 1 thread for passes too small to gain from more.

Small networks train on one thread because OpenMP threads make tiny matmuls several times slower, and
10x+ slower on a busy machine. Explanations and compression use `intra_op_threads` for the same reason.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


def resolve_device(device: Any) -> "torch.device":
    import torch

    name = "auto" if device is None else str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(name)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device='{name}' was requested but no CUDA GPU is available; use device='auto' or 'cpu'.")
    return resolved


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
