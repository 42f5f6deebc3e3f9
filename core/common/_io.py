"""Atomic file writes: a reader sees the old file or the new one, never half of one. The WRITE_HOOKS run on the new
file just before it takes the old one's place: the one core.common._blobs adds stores a file of a folder that a
shared database keeps there first (so the database never holds an older version than the folder)."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator

WRITE_HOOKS: list[Callable[[Path, Path], None]] = []     # called with (new file, its place) before the replace


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside `path`; it replaces `path` only if the block ends without an error."""
    with _replace_on_success(path, mode, **kwargs) as handle:
        yield handle


@contextmanager
def _replace_on_success(path: str | Path, mode: str, hooks=WRITE_HOOKS, **kwargs) -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
        for hook in hooks:
            hook(Path(tmp), path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write bytes, or text as UTF-8, to `path` atomically."""
    if isinstance(data, bytes):
        with atomic_open(path, "wb") as handle:
            handle.write(data)
    else:
        with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
