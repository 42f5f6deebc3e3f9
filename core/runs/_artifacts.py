"""Where a run's artifacts are kept: its folder under the store's artifact root and, when the run database is shared
(any URL but SQLite, e.g. PostgreSQL), the database itself, so a machine that has only the URL opens every run,
explanation and compression result another machine wrote.

The local folder is then a cache: each file written atomically in it is stored in the database as it is written
(core.common's atomic writes), and opening a run's folder brings what the database holds that the cache lacks or
holds in an older version. With SQLite the folder is all there is, as before.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from core.common import shared_folder


class RunArtifacts:
    """The artifact folders of one run store (`root`/<run id>), kept in the database at `url` when it is shared."""

    def __init__(self, url: str, root: Path):
        self.root = Path(root)
        self.shared = shared_folder(self.root, "runs", url)     # None with SQLite

    def folder(self, run_id: str, create: bool = True) -> Path:
        """The run's folder, brought up to date from a shared database first."""
        path = self.root / run_id
        if self.shared is not None:
            self.shared.fetch_tree(path)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path

    def remove(self, run_id: str) -> None:
        """Delete the run's folder, here and in a shared database."""
        path = self.root / run_id
        if self.shared is not None:
            self.shared.remove_tree(path)
        shutil.rmtree(path, ignore_errors=True)
