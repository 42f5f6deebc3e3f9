"""`python -m benchmarks firstpaint`: the home page's first paint in headless Chromium (issue 15: < 3 s after the
server answers), against a bare Streamlit hello page served and loaded the same way in the same run.

Each round starts a fresh `streamlit run` (so the first visit pays the app's imports, as the first visitor of a newly
started server does), waits until /_stcore/health answers, then times a new browser context from navigation to the
page's title being visible: the first visit (cold) and a second one (warm). App and hello page alternate, so a busy
moment of a shared machine hits both; medians over ROUNDS (`BENCH_PAINT_ROUNDS`, default 5).
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_PAINT_ROUNDS", "5"))
HELLO = 'import streamlit as st\n\nst.title("Hello")\nst.write("A bare Streamlit page.")\n'
TIMEOUT_MS = 60_000


def visits_of(script: str, heading: str, visits: int = 2) -> list[float]:
    """Seconds from navigation to `heading` on a fresh server running `script`, for each of `visits` visits."""
    from playwright.sync_api import sync_playwright

    from benchmarks.sessions import CHROMIUM, CHROMIUM_ARGS, serve
    home = Path(tempfile.mkdtemp(prefix="modeldeck-bench-paint-"))
    with serve(home, home / "server.log", script=script) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        times = []
        for _ in range(visits):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{server.url}/")
            page.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT_MS)
            times.append(time.perf_counter() - start)
            context.close()
        browser.close()
    return times


def available() -> bool:
    import importlib.util

    from benchmarks.sessions import CHROMIUM
    return importlib.util.find_spec("playwright") is not None and os.path.exists(CHROMIUM)


def measure(rounds: int = ROUNDS) -> dict[str, list[list[float]]]:
    """'app' / 'hello' -> one [first visit, second visit] per round, the two alternated."""
    hello = Path(tempfile.mkdtemp(prefix="modeldeck-bench-hello-")) / "hello.py"
    hello.write_text(HELLO)
    out: dict[str, list[list[float]]] = {"app": [], "hello": []}
    for i in range(rounds):
        order = (("app", "streamlit_app.py", "ModelDeck"), ("hello", str(hello), "Hello"))
        for key, script, heading in order if i % 2 == 0 else order[::-1]:
            out[key].append(visits_of(script, heading))
    return out


def main() -> None:
    if not available():
        print("home page first paint: skipped (no Chromium at /usr/bin/chromium or no playwright)")
        return
    load = os.getloadavg()[0]
    times = measure()
    first = {k: statistics.median(v[0] for v in vs) for k, vs in times.items()}
    second = {k: statistics.median(v[1] for v in vs) for k, vs in times.items()}
    print(f"{'page':<38}{'first visit (s)':>16}{'second visit (s)':>18}{'× hello (first)':>17}")
    print(f"{'bare Streamlit hello page (baseline)':<38}{first['hello']:>16.2f}{second['hello']:>18.2f}{1:>17.2f}")
    status = "OK" if first["app"] < 3 else "over target"
    print(f"{'ModelDeck home (target < 3 s)':<38}{first['app']:>16.2f}{second['app']:>18.2f}"
          f"{first['app'] / first['hello']:>17.2f}  {status}")
    print(f"medians of {len(times['app'])} fresh servers each; first visits app "
          + ", ".join(f"{v[0]:.2f}" for v in times["app"]) + "; hello " + ", ".join(f"{v[0]:.2f}" for v in times["hello"])
          + f"; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
