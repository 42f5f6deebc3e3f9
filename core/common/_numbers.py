"""Small numeric helpers and number formatting for people (percentages, sizes, milliseconds)."""
from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a 2-D array of logits, stable for large values."""
    z = np.asarray(z, dtype=float)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sample_positions(n: int, max_rows: int, seed: int) -> np.ndarray:
    """At most `max_rows` positions out of n, drawn without replacement with `seed`, in order (all n when
    n <= max_rows): the one way a sample of rows is taken for display statistics and explanations."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def fmt_bytes(n: float) -> str:
    """1,870,201 -> '1.9 MB'; sizes in decimal KB/MB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def fmt_percent(fraction: float) -> str:
    """0.9567 -> '95.7%'."""
    return f"{100 * fraction:.1f}%"


def fmt_ms(seconds: float) -> str:
    """A duration in milliseconds with sensible precision: 0.0000412 -> '0.041 ms', 0.25 -> '250 ms'."""
    ms = 1000 * seconds
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 1 else f"{ms:.3f} ms"
