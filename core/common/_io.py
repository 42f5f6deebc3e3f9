"""Atomic file writes: a reader sees the old file or the new one, never half of one. A file written in a folder that a
shared database keeps (core.common._blobs) is stored there too before the write returns."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside `path`; it replaces `path` only if the block ends without an error."""
    with _replace_on_success(path, mode, **kwargs) as handle:
        yield handle
    from core.common._blobs import written
    written(Path(path))      # nothing unless MODELDECK_DB_URL is shared (not SQLite) and `path` is in a kept folder


@contextmanager
def _replace_on_success(path: str | Path, mode: str, **kwargs) -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
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
