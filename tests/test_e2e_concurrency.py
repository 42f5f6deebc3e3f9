"""Ten people on one server at once (issue 12): ten Chromium contexts drive one `streamlit run` through different
flows at the same time (train, leaderboard, explain, tune, compress, recommend, data), each on its own data set.
None may see an exception box or a red alert, and each must see only its own choices: its data set in the sidebar,
and on the Runs page exactly the runs the store holds for its browser.

Before issue 12, 3 of 10 such sessions showed `table trials already exists` (Optuna's schema created by whichever
session touched the database first). Run alone with `python -m pytest tests/test_e2e_concurrency.py -q -s`.
"""
from __future__ import annotations

import os

import pytest

from benchmarks.sessions import BUILTIN_TITLES, CHROMIUM, FLOWS, run_sessions, serve

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(1500)
def test_ten_sessions_at_once_each_see_only_their_own(tmp_path, monkeypatch):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found (.ci/run installs Debian's chromium)")
    pytest.importorskip("playwright.async_api")
    home = tmp_path / "home"
    home.mkdir()
    with serve(home, tmp_path / "streamlit.log") as server:
        sessions = run_sessions(server.url)
        log = server.log_tail(6000)
    monkeypatch.setenv("MODELDECK_HOME", str(home))
    from benchmarks.sessions import store_runs_by_owner
    owners = set()
    for session in sessions:
        print(f"session {session.index} {session.flow:<11} {session.dataset:<13} {session.seconds:6.1f} s, slowest "
              f"page {session.slowest[0]} {session.slowest[1]:.1f} s, runs {sorted(session.listed_runs)}")
        assert not session.problems, (session.flow, session.problems, log)
        assert session.sidebar_data == BUILTIN_TITLES[session.dataset], (session.flow, session.sidebar_data)
        assert session.owner and session.owner not in owners, "two sessions shared one browser identity"
        owners.add(session.owner)
        assert session.listed_runs == store_runs_by_owner(session.owner), session.flow
        if session.flow in ("train", "explain", "compress", "leaderboard"):
            assert session.listed_runs, f"{session.flow}: its runs are missing from its Runs page"
    assert len(sessions) == len(FLOWS) == 10
