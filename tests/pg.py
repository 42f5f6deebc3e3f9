"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests that run the same store code on PostgreSQL.

`postgres_url()` starts one (initdb + pg_ctl, as the `postgres` user when the tests run as root) and returns its
SQLAlchemy URL, or None when PostgreSQL or the psycopg driver is not installed (the tests then skip).
"""
from __future__ import annotations

import atexit
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


def postgres_url() -> str | None:
    if _URL:
        return _URL[0]
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        initdb = None
    if not initdb or not pg_ctl:
        _URL.append(None)
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
    atexit.register(lambda: subprocess.run(_as_postgres([pg_ctl, "-D", data, "-m", "immediate", "stop"]),
                                           capture_output=True, timeout=60))
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            import sqlalchemy as sa
            with sa.create_engine(url).connect():
                break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    _URL.append(url)
    return url


def fresh_database(url: str, name: str) -> str:
    """A new, empty database on the cluster of `url`; returns its URL."""
    import sqlalchemy as sa
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"
