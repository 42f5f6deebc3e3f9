"""Files kept in the database when the database is shared, so another machine with only the URL can open them.

With MODELDECK_DB_URL on a server database (PostgreSQL), the folders a run needs — its artifacts and the uploaded
data sets — live in two tables of that database (`blobs`: one row per file with its size, SHA-256 and time;
`blob_parts`: its bytes, in parts of PART_BYTES), and the folders under MODELDECK_HOME are caches of them.
With SQLite (one machine, the default) none of this runs: nothing is stored twice and nothing changes.

- Write-through: `atomic_write` / `atomic_open` of a file in a shared folder stores the new file in the database
  just before it replaces the local one (so a reader that brings the database's copy meanwhile brings the new
  version, never an older one over it). Files in a work folder (a name ending in `.tmp`) are not stored one by one:
  `store_shared_tree` stores the work folder whole as the folder it is about to be renamed to. A run store removes
  a deleted run's copy (`BlobFolder.remove_tree`).
- Read-through: `fetch_shared(*paths)` / `fetch_shared_tree(folder)` bring files from the database when the local
  copy is missing or differs (by SHA-256); the database's copy wins and keeps its modification time, so "newest
  first" listings agree across machines.
- Which folders: `HOME_FOLDERS` of home() (uploaded data sets, run and job artifacts, uploaded interactions, labels),
  and any folder a caller names with
  `shared_folder(root, prefix, url)` (a run store with its own artifact root and URL).
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from core.common._config import db_url, home
from core.common._errors import ModelDeckError
from core.common._io import WRITE_HOOKS, _replace_on_success

# the folders of home() a shared database keeps: uploaded data sets and image sets, run and job artifacts, the
# recommender's uploaded interactions, names/units labels
HOME_FOLDERS = ("datasets", "runs", "recsys_uploads", "labels")
PART_BYTES = 8 * 1024 * 1024            # a file is stored in parts of this size (no 1 GB bytea, modest memory)
_LOCK = threading.RLock()


def is_shared(url: str | None) -> bool:
    """Whether a database URL is one several machines can share (anything but SQLite)."""
    return bool(url) and not url.startswith("sqlite")


@lru_cache(maxsize=1)
def _tables():
    """The two tables (built on first use: importing core.common stays light)."""
    import sqlalchemy as sa
    metadata = sa.MetaData()
    blobs = sa.Table("blobs", metadata,
                     sa.Column("key", sa.String(1024), primary_key=True),   # "runs/<id>/model.skops", …
                     sa.Column("size", sa.BigInteger, nullable=False),
                     sa.Column("sha256", sa.String(64), nullable=False),
                     sa.Column("modified", sa.Float, nullable=False),        # the writer's mtime (epoch s)
                     sa.Column("parts", sa.Integer, nullable=False))
    parts = sa.Table("blob_parts", metadata,
                     sa.Column("key", sa.String(1024), primary_key=True),
                     sa.Column("part", sa.Integer, primary_key=True),
                     sa.Column("data", sa.LargeBinary, nullable=False))
    return metadata, blobs, parts


_ENGINES: dict[str, object] = {}


def _engine(url: str):
    """One engine per URL and process, its tables created on first use (a process that lost the race to create
    them finds them made by the other)."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            import sqlalchemy as sa
            engine = sa.create_engine(url, pool_pre_ping=True)
            metadata = _tables()[0]
            try:
                metadata.create_all(engine)
            except sa.exc.DBAPIError:       # created at the same moment by another process
                metadata.create_all(engine)
            _ENGINES[url] = engine
        return engine


@dataclass(frozen=True)
class _Stored:
    key: str
    size: int
    sha256: str
    modified: float


class BlobFolder:
    """A local folder (`root`) whose files are kept in the database at `url` under the keys "<prefix>/<path>"."""

    def __init__(self, url: str, root: Path, prefix: str):
        self.url, self.root, self.prefix = url, Path(root).resolve(), prefix.strip("/")

    def key(self, path: Path) -> str | None:
        """The database key of a file in this folder (None outside it, or inside a `*.tmp` work folder)."""
        try:
            rel = Path(path).resolve().relative_to(self.root)
        except ValueError:
            return None
        if not rel.parts or any(part.endswith(".tmp") for part in rel.parts[:-1]):
            return None
        return "/".join((self.prefix, *rel.parts))

    def _prefix(self, folder: Path) -> str | None:
        """"<prefix>/<folder>/": the start of the keys of the files under `folder` (None outside this folder)."""
        key = self.key(Path(folder) / "_")
        return None if key is None else key[:-1]

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/")[1:])

    # ------------------------------------------------------------ writing
    def store(self, path: Path, source: Path) -> None:
        """Keep the file `source` in the database as `path` (replacing the copy there), in one transaction."""
        key = self.key(path)
        if key is not None:
            with _engine(self.url).begin() as conn:
                self._store(conn, key, Path(source), Path(path))

    def store_tree(self, folder: Path, source: Path) -> None:
        """`folder` is being replaced whole by the files of `source`: they become the database's copy of it, in one
        transaction."""
        prefix = self._prefix(folder)
        if prefix is None:
            return
        with _engine(self.url).begin() as conn:
            self._delete(conn, prefix)
            for path in sorted(p for p in Path(source).rglob("*") if p.is_file()):
                rel = path.relative_to(source)
                self._store(conn, prefix + "/".join(rel.parts), path, Path(folder) / rel)

    def remove_tree(self, folder: Path) -> None:
        prefix = self._prefix(folder)
        if prefix is not None:
            with _engine(self.url).begin() as conn:
                self._delete(conn, prefix)

    def _store(self, conn, key: str, source: Path, path: Path) -> None:
        """Store the file `source`, which is about to become `path`."""
        _, blobs, parts = _tables()
        stat = source.stat()
        header = {"size": stat.st_size, "sha256": "", "modified": stat.st_mtime, "parts": 0}
        _upsert(conn, blobs, key, header)                    # first: the row lock makes writers of a key queue
        conn.execute(parts.delete().where(parts.c.key == key))
        digest, count = hashlib.sha256(), 0
        with open(source, "rb") as handle:
            while chunk := handle.read(PART_BYTES):
                digest.update(chunk)
                conn.execute(parts.insert().values(key=key, part=count, data=chunk))
                count += 1
        conn.execute(blobs.update().where(blobs.c.key == key).values(sha256=digest.hexdigest(), parts=count))
        _remember(path, digest.hexdigest(), stat)      # renaming `source` to `path` keeps its size and time

    def _delete(self, conn, prefix: str) -> None:
        _, blobs, parts = _tables()
        for table in (parts, blobs):
            conn.execute(table.delete().where(table.c.key.startswith(prefix, autoescape=True)))

    # ------------------------------------------------------------ reading
    def fetch(self, paths) -> None:
        """Bring these files from the database where the local copy is missing or differs."""
        keys = [k for k in (self.key(p) for p in paths) if k is not None]
        if keys:
            self._bring(self._listed(lambda blobs: blobs.c.key.in_(keys)))

    def fetch_tree(self, folder: Path, suffix: str = "", recursive: bool = True) -> None:
        """Bring every file the database keeps under `folder` (only those ending in `suffix`; with
        `recursive=False`, not those in sub-folders)."""
        prefix = self._prefix(folder)
        if prefix is None:
            return
        stored = self._listed(lambda blobs: blobs.c.key.startswith(prefix, autoescape=True))
        self._bring([s for s in stored if s.key.endswith(suffix) and (recursive or "/" not in s.key[len(prefix):])])

    def _listed(self, where) -> list[_Stored]:
        _, blobs, _ = _tables()
        with _engine(self.url).connect() as conn:
            rows = conn.execute(blobs.select().where(where(blobs))).all()
        return [_Stored(r.key, r.size, r.sha256, r.modified) for r in rows]

    def _bring(self, stored: list[_Stored]) -> None:
        for item in stored:
            path = self._path(item.key)
            if ".." not in item.key.split("/") and _local_sha(path) != item.sha256:
                self._download(item, path)

    def _download(self, item: _Stored, path: Path) -> None:
        """Write the database's copy over `path` (atomically), checked against its SHA-256."""
        _, _, parts = _tables()
        for _attempt in range(3):      # a writer replaced the file meanwhile: read its new version
            try:
                with _replace_on_success(path, "wb", hooks=()) as handle, _reading(self.url) as conn:
                    digest = hashlib.sha256()
                    query = parts.select().where(parts.c.key == item.key).order_by(parts.c.part)
                    for row in conn.execution_options(stream_results=True).execute(query):
                        digest.update(row.data)
                        handle.write(row.data)
                    if digest.hexdigest() != item.sha256:
                        raise _Changed
            except _Changed:
                refreshed = self._listed(lambda blobs: blobs.c.key == item.key)
                if not refreshed:
                    return
                item = refreshed[0]
                continue
            os.utime(path, (item.modified, item.modified))
            _remember(path, item.sha256)
            return
        raise ModelDeckError(f"The stored file '{item.key}' did not match its checksum three times; try again.")


class _Changed(Exception):
    """The parts read did not add up to the checksum listed a moment before."""


def _upsert(conn, blobs, key: str, values: dict) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
        conn.execute(insert(blobs).values(key=key, **values).on_conflict_do_update(index_elements=["key"],
                                                                                   set_=values))
    elif conn.execute(blobs.update().where(blobs.c.key == key).values(**values)).rowcount == 0:
        conn.execute(blobs.insert().values(key=key, **values))


class _reading:
    """A connection that sees one snapshot (PostgreSQL: repeatable read), so a file's parts belong together."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        self.conn = _engine(self.url).connect()
        if self.conn.dialect.name == "postgresql":
            self.conn = self.conn.execution_options(isolation_level="REPEATABLE READ")
        self.conn.begin()
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.rollback()
        self.conn.close()


# ---------------------------------------------------------------- local copies' checksums
_SHAS: dict[str, tuple[int, int, str]] = {}     # path -> (size, mtime_ns, sha256) of the local copy


def _remember(path: Path, sha: str, stat: os.stat_result | None = None) -> None:
    stat = stat or path.stat()
    _SHAS[str(path)] = (stat.st_size, stat.st_mtime_ns, sha)


def _local_sha(path: Path) -> str | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    known = _SHAS.get(str(path))
    if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
        return known[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(PART_BYTES):
            digest.update(chunk)
    _remember(path, digest.hexdigest())
    return digest.hexdigest()


# ---------------------------------------------------------------- which folders are shared
_FOLDERS: dict[Path, BlobFolder] = {}     # roots named by callers (a run store's artifact root and URL)


def shared_folder(root: Path, prefix: str, url: str | None = None) -> BlobFolder | None:
    """The database copy of the folder `root` (keys "<prefix>/…"), or None when the database is not shared."""
    url = url or db_url()
    root = Path(root).resolve()
    with _LOCK:
        if not is_shared(url):
            _FOLDERS.pop(root, None)
            return None
        folder = _FOLDERS.get(root)
        if folder is None or (folder.url, folder.prefix) != (url, prefix):
            folder = _FOLDERS[root] = BlobFolder(url, root, prefix)
        return folder


def _folder_of(path: Path) -> BlobFolder | None:
    """The shared folder a file belongs to: one a caller named, or one of HOME_FOLDERS with a shared MODELDECK_DB_URL."""
    path = Path(path).resolve()
    for root, folder in list(_FOLDERS.items()):
        if path.is_relative_to(root):
            return folder
    if not is_shared(os.environ.get("MODELDECK_DB_URL")):
        return None
    for name in HOME_FOLDERS:
        if path.is_relative_to(home() / name):
            return shared_folder(home() / name, name)
    return None


def _by_folder(paths) -> Iterator[tuple[BlobFolder, list[Path]]]:
    groups: dict[int, tuple[BlobFolder, list[Path]]] = {}
    for path in paths:
        folder = _folder_of(path)
        if folder is not None:
            groups.setdefault(id(folder), (folder, []))[1].append(Path(path))
    yield from groups.values()


def written(new: Path, path: Path) -> None:
    """Before each atomic write replaces `path` by `new` (core.common._io.WRITE_HOOKS): a shared folder's database
    copy takes `new` first; nothing unless a shared database is in use and `path` is in a folder it keeps."""
    if _FOLDERS or os.environ.get("MODELDECK_DB_URL"):
        folder = _folder_of(path)
        if folder is not None:
            try:
                folder.store(path, new)
            except Exception as exc:  # noqa: BLE001 - any database error: say what it means for the user
                raise ModelDeckError(f"'{Path(path).name}' could not be saved in the shared database "
                                     f"({type(exc).__name__}: {exc}), so it was not saved at all. Check the "
                                     "database connection and try again.") from exc


WRITE_HOOKS.append(written)


def fetch_shared(*paths: Path) -> None:
    """Bring these files from the shared database where the local copy is missing or differs (no-op on SQLite)."""
    for folder, members in _by_folder(paths):
        folder.fetch(members)


def fetch_shared_tree(folder: Path, suffix: str = "", recursive: bool = True) -> None:
    """Bring every file the shared database keeps under `folder` (no-op on SQLite)."""
    for shared, _ in _by_folder([folder]):
        shared.fetch_tree(folder, suffix, recursive)


def store_shared_tree(folder: Path, source: Path) -> None:
    """`folder` is about to be replaced whole by `source` (a work folder built beside it): the shared database's copy
    of `folder` becomes the files of `source` first (no-op on SQLite)."""
    for shared, _ in _by_folder([folder]):
        shared.store_tree(folder, source)
