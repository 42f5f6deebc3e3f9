"""Helpers shared by the benchmarks: a private run store, timing, and a page opened on a saved run."""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("MODELDECK_HOME", tempfile.mkdtemp(prefix="modeldeck-bench-"))

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable, repeats: int = 1, stat: Callable = statistics.median):
    """(`stat` of `repeats` wall times, the last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return stat(times), result


def page_on_new_run(page: str, family: str = "hist_gb", cv_folds: int = 0, timeout: float = 120):
    """Train `family` on breast cancer, save it as a run, and return (AppTest on `page` with ?run=<id>, run)."""
    from streamlit.testing.v1 import AppTest

    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    dataset = load_dataset("builtin:breast_cancer")
    run = save_trained(RunStore(), train_model(dataset, ModelSpec.create(family), cv_folds=cv_folds), dataset.name)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    at.query_params["run"] = run.id
    at.switch_page(page)
    return at, run
