"""`python -m benchmarks reliability` (issue 12): how ModelDeck holds up when a team uses it.

- bad inputs tried / handled: the corpus of tests/bad_inputs.py through AppTest (a clear message, no traceback,
  saved runs unchanged);
- concurrent sessions held and their slowest page: ten Chromium contexts at once on one server (benchmarks/
  sessions.py), against the same flows one at a time as the baseline measured in this run;
- crashes survived: a training job, a compression job and a tuning worker SIGKILLed mid-way
  (tests/test_crash_safety.py), the store consistent and earlier runs intact;
- memory before / after a soak of 200 page loads (benchmarks/soak.py).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT


def _fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="modeldeck-reliability-"))
    os.environ["MODELDECK_HOME"] = str(home)
    os.environ.pop("MODELDECK_DB_URL", None)
    import streamlit as st
    st.cache_data.clear()
    st.cache_resource.clear()
    return home


def bad_inputs() -> tuple[int, int, list[str]]:
    """(tried, handled, problems) over the whole corpus."""
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from tests.bad_inputs import CASES, check_case
    _fresh_home()
    ds = load_builtin("wine")
    run = save_trained(RunStore(), train_model(ds, ModelSpec.create("hist_gb"), cv_folds=3), ds.name)
    problems = []
    for case in CASES:
        import streamlit as st
        st.cache_data.clear()
        st.cache_resource.clear()
        problem = check_case(case, run.id)
        if problem:
            problems.append(f"{case.name}: {problem}")
    return len(CASES), len(CASES) - len(problems), problems


def sessions() -> dict:
    """Ten sessions at once, and the same flows one after another (the baseline)."""
    from benchmarks.sessions import FLOWS, run_sessions, serve
    out = {}
    for label, batches in (("one at a time", [[flow] for flow in FLOWS]), ("ten at once", [FLOWS])):
        home = Path(tempfile.mkdtemp(prefix="modeldeck-sessions-"))
        with serve(home, home / "streamlit.log") as server:
            start = time.perf_counter()
            results = [s for batch in batches for s in run_sessions(server.url, batch)]
            seconds = time.perf_counter() - start
        slowest = max((s.slowest + (s.flow,) for s in results), key=lambda t: t[1])
        out[label] = {"held": sum(not s.problems for s in results), "sessions": len(results), "seconds": seconds,
                      "slowest": slowest, "problems": [p for s in results for p in s.problems]}
    return out


def crashes() -> tuple[int, int, str]:
    """(survived, tried, pytest's last line) for the SIGKILL scenarios."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_crash_safety.py"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", last)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", last)) else 0
    return passed, passed + failed, last


def memory():
    from benchmarks.soak import soak
    _fresh_home()
    return soak(200)


def main() -> None:
    tried, handled, problems = bad_inputs()
    print(f"{'bad inputs':<34}{handled:>4} of {tried} handled (clear message, no traceback, runs unchanged)")
    for problem in problems:
        print(f"    not handled: {problem}")
    held = sessions()
    base, crowd = held["one at a time"], held["ten at once"]
    print(f"{'sessions, one at a time (baseline)':<34}{base['held']:>4} of {base['sessions']} clean; slowest page "
          f"{base['slowest'][1]:.1f} s ({base['slowest'][2]}: {base['slowest'][0]})")
    ratio = crowd["slowest"][1] / max(base["slowest"][1], 1e-9)
    print(f"{'sessions, ten at once':<34}{crowd['held']:>4} of {crowd['sessions']} clean; slowest page "
          f"{crowd['slowest'][1]:.1f} s ({crowd['slowest'][2]}: {crowd['slowest'][0]}), {ratio:.1f}x the baseline's "
          f"slowest; all ten done in {crowd['seconds']:.0f} s vs {base['seconds']:.0f} s one after another")
    for problem in crowd["problems"] + base["problems"]:
        print(f"    problem: {problem[:300]}")
    survived, tried_crashes, line = crashes()
    print(f"{'crashes survived (SIGKILL)':<34}{survived:>4} of {tried_crashes} (training job, compression, tuning "
          f"worker: store consistent, earlier runs intact) — {line}")
    soaked = memory()
    print(f"{'memory, soak of 200 page loads':<34}{soaked.warm_mb:>6.0f} MB after the first cycle -> "
          f"{soaked.end_mb:.0f} MB after {soaked.loads} loads ({soaked.growth_mb:+.0f} MB, peak {soaked.peak_mb:.0f} MB, "
          f"{soaked.seconds:.0f} s){'; errors: ' + str(soaked.errors[:2]) if soaked.errors else ''}")


if __name__ == "__main__":
    main()
