"""Many people on one server at once: N Chromium contexts (each its own browser, cookies and session) drive one
`streamlit run` through different flows at the same time — train, leaderboard, explain, tune, compress, recommend,
data — each on its own data set. Used by tests/test_e2e_concurrency.py (which asserts) and by
`python -m benchmarks reliability` (which prints the figures).

Each session reports: the exception boxes and red alerts it saw (none expected), the seconds its slowest page took,
the data set its sidebar shows at the end, and the runs its Runs page lists next to the runs the store holds for
its browser (the two must be the same: a session sees only its own choices).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ACTION_TIMEOUT_MS = 600_000          # one click's script run, with ten sessions sharing two cores
LOCATE_TIMEOUT_MS = 120_000          # finding an element on a page that has finished running
BUILTIN_TITLES = {"breast_cancer": "Breast cancer (Wisconsin)", "wine": "Wine cultivars", "iris": "Iris flowers",
                  "digits": "Handwritten digits (8×8)", "diabetes": "Diabetes progression",
                  "churn": "Telecom customer churn (synthetic)"}

# (flow, data set, model): ten sessions, every flow at least once
FLOWS = [("train", "wine", "Logistic regression"), ("leaderboard", "iris", None),
         ("explain", "breast_cancer", "Gradient boosting"), ("tune", "diabetes", None),
         ("compress", "iris", "Random forest"), ("recommend", "churn", None), ("data", "churn", None),
         ("train", "digits", "Logistic regression"), ("explain", "wine", "Random forest"),
         ("train", "breast_cancer", "k-nearest neighbours")]


@dataclass
class Session:
    index: int
    flow: str
    dataset: str
    problems: list[str] = field(default_factory=list)
    page_seconds: dict[str, float] = field(default_factory=dict)
    sidebar_data: str = ""
    listed_runs: set[str] = field(default_factory=set)
    owner: str = ""
    seconds: float = 0.0

    @property
    def slowest(self) -> tuple[str, float]:
        return max(self.page_seconds.items(), key=lambda kv: kv[1], default=("-", 0.0))


async def _settle(page, started_ms: int = 1_500, timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
    """Until the script run set off by the last action has finished (Streamlit's own e2e tests wait this way)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    await page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=timeout_ms)
    try:
        await page.wait_for_selector("[data-testid=stApp]:not([data-test-script-state=notRunning])",
                                     timeout=started_ms, state="attached")
    except PlaywrightTimeout:
        pass
    await page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms,
                                 state="attached")
    await page.wait_for_timeout(300)


async def _look(page, session: Session, step: str) -> None:
    for selector in ("[data-testid=stException]", "[data-testid=stAlertContentError]"):
        for element in await page.locator(selector).all():
            session.problems.append(f"{step}: {selector}: {(await element.inner_text())[:300]}")


async def _timed(session: Session, step: str, action, page, timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
    start = time.monotonic()
    await action()
    await _settle(page, timeout_ms=timeout_ms)
    session.page_seconds[step] = max(session.page_seconds.get(step, 0.0), time.monotonic() - start)
    await _look(page, session, step)


async def _nav(page, session: Session, title: str, path: str) -> None:
    async def click():
        await page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(rf"\b{title}$")).click()
        await page.wait_for_url(re.compile(rf"/{path}(\?|$)"))
    await _timed(session, title, click, page)


async def _choose(page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    await box.get_by_role("combobox").click()
    await page.get_by_role("option", name=option, exact=True).click()
    await _settle(page)


async def _number(page, label: str, value: str) -> None:
    box = page.get_by_test_id("stNumberInput").filter(
        has=page.get_by_test_id("stWidgetLabel").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    field = box.get_by_test_id("stNumberInputField")
    await field.fill(value)
    await field.press("Enter")
    await _settle(page)


async def _button(page, session: Session, name: str, step: str) -> None:
    await _timed(session, step, lambda: page.get_by_role("button", name=name, exact=True).first.click(), page)


async def _train(page, session: Session, model: str) -> None:
    await _nav(page, session, "Train", "train")
    await _choose(page, "Model", model)
    await _button(page, session, "Train", "train")
    await page.get_by_text(re.compile(r"trained in .* saved as run")).first.wait_for(timeout=ACTION_TIMEOUT_MS)


async def _flow(page, session: Session, model: str | None) -> None:
    flow = session.flow
    if flow in ("train", "explain", "compress"):
        await _train(page, session, model)
    if flow == "train":
        await _nav(page, session, "Metrics", "metrics")
        await page.get_by_text("The model is right").first.wait_for()
    elif flow == "explain":
        await _nav(page, session, "Explain", "explain")
        compute = page.get_by_role("button", name=re.compile(r"^Compute SHAP values"))
        if await compute.count():              # on a busy server the time estimate asks for a click first
            await _timed(session, "explain", lambda: compute.first.click(), page)
        await page.get_by_role("tab", name="Overall", exact=True).wait_for()
    elif flow == "compress":
        await _nav(page, session, "Compress", "compress")
        await _button(page, session, "Compress and measure", "compress")
        await page.get_by_text(re.compile(r"^Measured \d+ variants")).first.wait_for(timeout=ACTION_TIMEOUT_MS)
    elif flow == "leaderboard":
        await _nav(page, session, "Train", "train")
        await page.get_by_role("tab", name="Leaderboard", exact=True).click()
        await _button(page, session, "Train leaderboard", "leaderboard")
        await page.get_by_text(re.compile(r"^Chosen: ")).first.wait_for(timeout=ACTION_TIMEOUT_MS)   # a background job
    elif flow == "tune":
        await _nav(page, session, "Tune", "tune")
        await _number(page, "Trial budget", "4")
        await _number(page, "Workers (processes)", "1")
        await _button(page, session, "Start search", "tune")
        await page.get_by_text(re.compile(r"\d+ of 4 trials")).first.wait_for(timeout=ACTION_TIMEOUT_MS)
    elif flow == "recommend":
        await _nav(page, session, "Recommend", "recommend")
        await _button(page, session, "Build and compare the recommenders", "recommend")
        await page.get_by_text(re.compile(r"Which model recommends best")).first.wait_for()
    elif flow == "data":
        await _nav(page, session, "Data", "data")
        await page.get_by_role("tab", name="Distributions", exact=True).click()


async def _listed_runs(page, session: Session) -> set[str]:
    """The run ids the Runs page offers (its picker reads 'name · id')."""
    await _nav(page, session, "Runs", "runs")
    picker = page.get_by_test_id("stSelectbox").filter(has=page.get_by_test_id("stWidgetLabel").filter(
        has_text=re.compile(r"^\s*Run\s*$")))
    if not await picker.count():
        return set()
    await picker.get_by_role("combobox").click()
    options = [await o.inner_text() for o in await page.get_by_role("option").all()]
    await page.keyboard.press("Escape")
    return {text.rsplit("·", 1)[-1].strip() for text in options}


async def _one(browser, base: str, session: Session, model: str | None) -> Session:
    start = time.monotonic()
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(LOCATE_TIMEOUT_MS)
    page = await context.new_page()
    try:
        await _timed(session, "Home", lambda: page.goto(f"{base}/data?data=builtin:{session.dataset}"), page)
        await _flow(page, session, model)
        session.listed_runs = await _listed_runs(page, session)
        sidebar = await page.get_by_test_id("stSidebar").inner_text()
        found = re.search(r"Data: (.+)", sidebar)
        session.sidebar_data = found.group(1).strip() if found else ""
        cookie = next((c["value"] for c in await context.cookies() if c["name"] == "modeldeck_browser"), "")
        session.owner = f"browser:{hashlib.sha256(cookie.encode()).hexdigest()[:24]}" if cookie else ""
    except Exception as exc:  # noqa: BLE001 - reported with the session, so the other sessions still finish
        session.problems.append(f"{type(exc).__name__}: {str(exc)[:500]} (at {page.url})")
        try:
            await page.screenshot(path=f"/tmp/modeldeck-session-{session.index}.png", full_page=True)
        except Exception:  # noqa: BLE001
            pass
    finally:
        session.seconds = time.monotonic() - start
        await context.close()
    return session


async def _warm_up(browser, base: str) -> None:
    """One visit of the home page before the crowd: on a fresh server the first script run switches Streamlit out
    of its legacy pages/ mode (ui/__init__.py), and sessions already running a deep link at that moment stay in it."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/")
    await _settle(page)
    await context.close()


async def _all(base: str, flows) -> list[Session]:
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await _warm_up(browser, base)
            jobs = [_one(browser, base, Session(i, flow, data), model) for i, (flow, data, model) in enumerate(flows)]
            return await asyncio.gather(*jobs)
        finally:
            await browser.close()


def run_sessions(base: str, flows=FLOWS) -> list[Session]:
    """Drive every flow at once against the app at `base`; returns one Session per flow."""
    return asyncio.run(_all(base, flows))


def store_runs_by_owner(owner: str) -> set[str]:
    """The runs the store (this process's MODELDECK_HOME) holds for one browser."""
    from core.runs import RunStore
    return {r.id for r in RunStore().list() if r.owner == owner}


# ---------------------------------------------------------------- a Streamlit server for browsers (tests too)
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().decode().strip() == "ok"
    except OSError:
        return False


def stop_process_group(proc: subprocess.Popen) -> None:
    """Terminate a server's whole process group (streamlit may start children), then make sure it is gone."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Server:
    url: str
    log_path: Path
    proc: subprocess.Popen

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@contextmanager
def serve(home: Path, log_path: Path, extra_env: dict | None = None, port: int | None = None,
          extra_args: tuple[str, ...] = (), script: str = "streamlit_app.py"):
    """`streamlit run streamlit_app.py` (or another `script`) on a free port (or `port`) of 127.0.0.1 with
    MODELDECK_HOME=`home` and no shared database; yields its Server, stopped afterwards (the browser tests'
    server too)."""
    port = port or free_port()
    env = {**os.environ, "MODELDECK_HOME": str(home), "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    env.pop("MODELDECK_DB_URL", None)
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", *extra_args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", log_path, proc)
    try:
        deadline = time.monotonic() + 90
        while not healthy(f"{server.url}/_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start on port {port} (exit {proc.poll()}):\n"
                                   f"{server.log_tail(3000)}")
            time.sleep(0.3)
        yield server
    finally:
        stop_process_group(proc)
