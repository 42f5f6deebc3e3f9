"""Shared fixtures: an isolated MODELDECK_HOME per test session and clean Streamlit caches per test."""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("MODELDECK_HOME", tempfile.mkdtemp(prefix="modeldeck-test-"))


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """The Streamlit caches outlive an AppTest instance: clear them so each test starts cold."""
    import streamlit as st
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture()
def fresh_home(tmp_path, monkeypatch):
    """A private, empty run store for tests that count runs."""
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path))
    monkeypatch.delenv("MODELDECK_DB_URL", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    """A private run store (MODELDECK_HOME) for one test module's fixtures, restored afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("home")
        mp.setenv("MODELDECK_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def _one_browser(monkeypatch):
    """Every AppTest session is the same browser (as if the tabs of one person), so a run made in one AppTest opens
    in the next; tests of ownership give sessions their own identities."""
    import ui.auth
    monkeypatch.setattr(ui.auth, "_cookie_token", lambda: "tests-one-browser-0000000000")


@pytest.fixture(scope="session")
def pg_cluster():
    """The URL of a PostgreSQL cluster for the shared-store tests (see tests/pg.py): MODELDECK_TEST_PG_URL, or a
    throwaway cluster; skipped with the reason when PostgreSQL is absent, an error under CI=true."""
    from tests.pg import SKIP_REASON, postgres_url
    url = postgres_url()
    if url is None:
        pytest.skip(SKIP_REASON)
    return url
