"""The progress callback every long computation takes: progress(fraction, message, *extra); a background job's
callback raises `Cancelled` once the user asked the job to stop."""
from __future__ import annotations

import time
from typing import Any, Callable

Progress = Callable[..., Any]


class Throttle:
    """When a progress write to a store is due: at most every `interval` seconds, and always at the end."""

    def __init__(self, interval: float = 0.5):
        self.interval, self.last = interval, 0.0

    def due(self, fraction: float) -> bool:
        moment = time.monotonic()
        if moment - self.last >= self.interval or fraction >= 1.0:
            self.last = moment
            return True
        return False


class Cancelled(BaseException):
    """Raised by a background job's progress callback when its cancel was requested. A BaseException (like
    KeyboardInterrupt), so that code catching Exception to carry on past one failed step still stops."""


def interrupt_on_sigterm() -> None:
    """In a worker or job process: SIGTERM raises KeyboardInterrupt, so the work stops the way Ctrl+C stops it
    (a tuning trial in progress is marked failed, a job is recorded as stopped) instead of vanishing."""
    import signal

    def interrupt(_signum, _frame) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def no_progress(*_args, **_kwargs) -> None:
    """The default callback: report nothing."""


def sub_progress(progress: Progress, index: int, total: int, label: str) -> Progress:
    """Map step `index` of `total` onto its slice of the overall bar, prefixing messages with `label`."""
    def report(fraction: float, message: str = "", *extra, **named) -> None:
        progress((index + fraction) / total, f"{label} ({index + 1}/{total}): {message}", *extra, **named)
    return report
