"""The run database's tables, and creating them once: safely when several processes (app servers, background jobs,
tuning workers, on one machine or many) open a new database at the same moment.

- `schema_lock(url)`: one process at a time creates or migrates a schema — a lock file beside a SQLite database
  (a database-level lock would block the very connection doing the work), `pg_advisory_lock` on PostgreSQL.
- `engine_for(url)`: one SQLAlchemy engine per URL and process; SQLite connections wait for each other's write locks
  (busy timeout, set before anything else) and use write-ahead logging, so readers never block the writer.
- `prepare_database(url, optuna=...)`: the run tables (plus columns added since a store was made: old stores open),
  and optionally Optuna's tables, created under the lock. Optuna's own first connection creates its tables and
  stamps its schema version without a lock, which is how two sessions starting a search at once used to fail with
  "table trials already exists".
"""
from __future__ import annotations

import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

BUSY_TIMEOUT_S = 30          # a SQLite writer waits this long for another one's lock before giving up

metadata = sa.MetaData()
runs_table = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False, default="train"),
    sa.Column("group_id", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),          # queued | running | done | failed
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("message", sa.Text, default=""),
    sa.Column("error", sa.Text),
    sa.Column("dataset_key", sa.String(200), nullable=False),
    sa.Column("dataset_name", sa.String(200), default=""),
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("task", sa.String(32)),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("prep_json", sa.Text, nullable=False),
    sa.Column("metrics_json", sa.Text),
    sa.Column("history_json", sa.Text),
    sa.Column("timings_json", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # added by issue 12; older stores get them through `_add_missing_columns` (NULL for old runs)
    sa.Column("owner", sa.String(200)),            # who made the run ("user:…" or "browser:…"); NULL: everyone's
    sa.Column("host", sa.String(200)),             # the machine whose process (pid) runs the job
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),   # last sign of life of the job's process
    sa.Column("model_types_json", sa.Text),        # the exact types skops recorded when model.skops was written
)

share_links_table = sa.Table(
    "share_links", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),   # sha256 of the token: the token is never stored
    sa.Column("run_id", sa.String(32), nullable=False, index=True),
    sa.Column("created_by", sa.String(200)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

jobs_table = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),            # leaderboard | compress | tune-worker | …
    sa.Column("subject", sa.String(200), nullable=False, index=True),   # the run id, data set or study it works on
    sa.Column("status", sa.String(16), nullable=False),          # queued | running | done | failed | cancelled
    sa.Column("message", sa.Text, default=""),
    sa.Column("error", sa.Text),
    sa.Column("host", sa.String(200)),
    sa.Column("pid", sa.Integer),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),     # when it was created (queued)
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # added by issue 14 (jobs started from the pages); older stores get them through `_add_missing_columns`
    sa.Column("owner", sa.String(200)),            # who started it (same notion as a run's owner)
    sa.Column("params_json", sa.Text),             # what the job was asked to do
    sa.Column("progress", sa.Float),               # 0–1
    sa.Column("result_json", sa.Text),             # what it produced (small JSON: run ids, sentences, file names)
    sa.Column("cancel_requested", sa.Boolean),     # set by the page's Cancel button (core.jobs._run)
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)


# ---------------------------------------------------------------- one schema change at a time
_THREAD_LOCK = threading.RLock()
_LOCK_KEY = zlib.crc32(b"modeldeck-schema")      # the PostgreSQL advisory lock every ModelDeck process agrees on


def _sqlite_path(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


@contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold the lock under which a database's schemas are created or migrated (threads of this process included)."""
    parsed = sa.make_url(url)
    with _THREAD_LOCK:
        if parsed.get_backend_name() == "sqlite":
            path = _sqlite_path(parsed)
            if path is None:
                yield
                return
            import fcntl
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_name(path.name + ".schema-lock"), "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        elif parsed.get_backend_name() == "postgresql":
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
                    conn.commit()
                    try:
                        yield
                    finally:
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                        conn.commit()
            finally:
                engine.dispose()
        else:   # other databases: one process at a time is the caller's promise (see docs/deploy.md)
            yield


# ---------------------------------------------------------------- engines
def _sqlite_pragmas(conn, _record) -> None:
    """Wait for locks first (so switching to WAL waits too), then write-ahead logging."""
    cursor = conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


_ENGINES: dict[str, sa.Engine] = {}


def engine_for(url: str) -> sa.Engine:
    """The engine of `url` for this process, its run tables created (once) before it is handed out."""
    with _THREAD_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            sqlite = url.startswith("sqlite")
            engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S} if sqlite else {})
            if sqlite:
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            _create_run_tables(url, engine)
            _ENGINES[url] = engine
        return engine


def _create_run_tables(url: str, engine: sa.Engine) -> None:
    with schema_lock(url):
        with engine.begin() as conn:
            metadata.create_all(conn)
            _add_missing_columns(conn)


def _add_missing_columns(conn) -> None:
    """Columns added to `runs` and `jobs` since a store was created (always nullable), so a store made by an older
    ModelDeck opens and its runs and jobs keep working."""
    for table in (runs_table, jobs_table):
        present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


_OPTUNA_READY: set[str] = set()


def prepare_database(url: str, optuna: bool = True) -> None:
    """Create every table ModelDeck keeps in the database at `url` (once per process, under the schema lock):
    the run tables and, with `optuna`, the tables and version stamp of Optuna's study storage."""
    engine_for(url)
    if not optuna or url in _OPTUNA_READY:
        return
    import warnings

    import optuna as optuna_lib
    with schema_lock(url):
        if url in _OPTUNA_READY:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kwargs = {"poolclass": sa.pool.NullPool}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
            storage = optuna_lib.storages.RDBStorage(url, engine_kwargs=kwargs)
        storage.engine.dispose()
        _OPTUNA_READY.add(url)
