"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests that run the same store code on PostgreSQL.

`postgres_url()` returns MODELDECK_TEST_PG_URL when it is set (`.ci/run` starts a cluster and sets it); otherwise it
starts one (initdb + pg_ctl, as the `postgres` user when the tests run as root) and returns its SQLAlchemy URL, or
None when PostgreSQL or the psycopg driver is not installed: the tests then skip, except under CI=true, where a
missing PostgreSQL is an error (the shared-store tests must run in CI).
"""
from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *cmd] if runuser else cmd


_URL: list[str | None] = []


ENV = "MODELDECK_TEST_PG_URL"
SKIP_REASON = (f"PostgreSQL is not available: set {ENV} to a postgresql+psycopg:// URL, or install PostgreSQL "
               "(initdb, pg_ctl) and psycopg so the tests start a throwaway cluster")


def postgres_url() -> str | None:
    if os.environ.get(ENV):
        return os.environ[ENV]
    if not _URL:
        _URL.append(_start_cluster())
    if _URL[0] is None and os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(f"CI=true but {SKIP_REASON}; .ci/run starts one.")
    return _URL[0]


def _pg_tool(name: str) -> str | None:
    """`name` on PATH, else from Debian's newest /usr/lib/postgresql/<version>/bin."""
    debian = sorted(glob.glob(f"/usr/lib/postgresql/[0-9]*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return shutil.which(name) or (debian[-1] if debian else None)


def _start_cluster() -> str | None:
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        initdb = None
    if not initdb or not pg_ctl:
        return None
    folder = tempfile.mkdtemp(prefix="modeldeck-pg-")
    os.chmod(folder, 0o777)
    data, port = os.path.join(folder, "data"), _free_port()
    env = os.environ | {"LC_ALL": "C"}
    subprocess.run(_as_postgres([initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]), check=True,
                   capture_output=True, env=env, timeout=120)
    subprocess.run(_as_postgres([pg_ctl, "-D", data, "-l", os.path.join(folder, "log"), "-w", "-o",
                                 f"-h 127.0.0.1 -p {port} -k {folder} -F", "start"]), check=True,
                   capture_output=True, env=env, timeout=120)
    atexit.register(_stop_cluster, pg_ctl, data, folder)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            import sqlalchemy as sa
            with sa.create_engine(url).connect():
                break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    return url


def _stop_cluster(pg_ctl: str, data: str, folder: str) -> None:
    subprocess.run(_as_postgres([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]), capture_output=True,
                   timeout=60)
    shutil.rmtree(folder, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """A new, empty database on the cluster of `url`; returns its URL."""
    import sqlalchemy as sa
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"
