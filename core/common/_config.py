"""Where ModelDeck keeps its state: MODELDECK_HOME (folder) and MODELDECK_DB_URL (SQLAlchemy URL)."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SEED = 42


def home() -> Path:
    """The folder for the run database, artifacts and uploaded data sets (created on first use)."""
    path = Path(os.environ.get("MODELDECK_HOME", ".modeldeck")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url() -> str:
    """SQLAlchemy URL of the run store; a SQLite file in home() unless MODELDECK_DB_URL is set."""
    return os.environ.get("MODELDECK_DB_URL") or f"sqlite:///{home() / 'modeldeck.db'}"
