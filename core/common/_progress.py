"""The progress callback every long computation takes: progress(fraction, message, *extra)."""
from __future__ import annotations

from typing import Any, Callable

Progress = Callable[..., Any]


def no_progress(*_args, **_kwargs) -> None:
    """The default callback: report nothing."""


def sub_progress(progress: Progress, index: int, total: int, label: str) -> Progress:
    """Map step `index` of `total` onto its slice of the overall bar, prefixing messages with `label`."""
    def report(fraction: float, message: str = "", *extra, **named) -> None:
        progress((index + fraction) / total, f"{label} ({index + 1}/{total}): {message}", *extra, **named)
    return report
