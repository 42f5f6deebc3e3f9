"""A memory soak: many page loads in one process (AppTest runs the app in-process, as the server would), cycling
through every page on a saved run, with the resident memory measured after a warm-up cycle and at the end. Caches
are bounded (`max_entries` / `ttl` on every st.cache_*, a bounded shelf), so after the warm-up the figure must stay
flat. Used by tests/test_memory_soak.py (which asserts SOAK_BOUND_MB) and `python -m benchmarks reliability`."""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
SOAK_BOUND_MB = 300          # growth allowed between the warm-up and the end of the soak
PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/metrics.py", "pages/predict.py",
         "pages/explain.py", "pages/tune.py", "pages/compress.py", "pages/recommend.py", "pages/advice.py",
         "pages/runs.py"]


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Soak:
    loads: int
    warm_mb: float
    end_mb: float
    peak_mb: float
    seconds: float
    errors: list[str]

    @property
    def growth_mb(self) -> float:
        return self.end_mb - self.warm_mb


def _load(page: str, run_id: str):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["run"] = run_id
    if page != "pages/home.py":
        at.switch_page(page)
    return at.run()


def soak(loads: int = 200) -> Soak:
    """`loads` page loads (fresh sessions) across every page, on one saved run; memory after the first cycle
    (every cache filled once) and at the end."""
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_builtin("breast_cancer")
    run = save_trained(RunStore(), train_model(ds, ModelSpec.create("hist_gb"), cv_folds=3), ds.name)
    errors: list[str] = []
    start, warm, peak = time.perf_counter(), float("nan"), 0.0
    for i in range(loads):
        page = PAGES[i % len(PAGES)]
        at = _load(page, run.id)
        errors += [f"{page}: {e.value}"[:300] for e in at.exception]
        del at
        if i == len(PAGES) - 1:
            gc.collect()
            warm = rss_mb()
        peak = max(peak, rss_mb())
    gc.collect()
    return Soak(loads, warm, rss_mb(), peak, time.perf_counter() - start, errors)
