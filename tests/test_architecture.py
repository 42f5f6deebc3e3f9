"""The shape of the house (issue 10): import contracts, module sizes, the pages' manners, and old runs still open."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LEGACY_HOME = ROOT / "tests" / "fixtures" / "legacy_home"


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_import_contracts_hold():
    """Layers point down, core never imports Streamlit or ui, inner modules stay private, no cycles (pyproject.toml)."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint) if lint.exists() else "lint-imports", "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and done.stdout.count("KEPT") == 4


def test_no_module_is_over_600_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for p in _python_files("core", "ui", "pages", "benchmarks", "data")}
    assert {name: n for name, n in sizes.items() if n > 600} == {}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_pages_only_lay_out_and_call_ui():
    """Pages reach core only through its faces, and never write to the run store or start jobs themselves."""
    writers = {"core.runs", "core.runs.RunStore", "core.runs.save_trained", "core.train.queue_run",
               "core.train.start_background", "core.compress.compress_run", "core.data.save_upload",
               "core.data.save_labels", "core.data.save_class_names", "core.recsys.save_recommendations"}
    for page in _python_files("pages"):
        imported = _imports(page)
        private = {m for m in imported if m.startswith("core.") and any(p.startswith("_") for p in m.split("."))}
        assert not private, f"{page.name} imports private modules {private}"
        assert not imported & writers, f"{page.name} writes without ui: {imported & writers}"
        assert "ui.cache" not in imported


def test_every_core_module_says_what_it_holds():
    missing = [str(p.relative_to(ROOT)) for p in _python_files("core")
               if p.stat().st_size and not ast.get_docstring(ast.parse(p.read_text()))]
    assert missing == []


@pytest.fixture()
def legacy_home(tmp_path, monkeypatch):
    """A copy of a run store written by the flat core/ layout: an MLP (our own estimator class), a logistic regression
    on churn (categorical cleaning) and a forest with outlier clipping (our own transformer, once `core.prep.IQRClipper`)."""
    home = tmp_path / "legacy"
    shutil.copytree(LEGACY_HOME, home)
    monkeypatch.setenv("MODELDECK_HOME", str(home))
    monkeypatch.delenv("MODELDECK_DB_URL", raising=False)
    return home


def test_runs_saved_by_the_previous_layout_still_open(legacy_home):
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.evaluate import MetricReport
    from core.runs import RunStore
    store = RunStore()
    runs = {run.name: run for run in store.list()}
    assert set(runs) == {"legacy mlp on iris", "legacy linear on churn", "legacy forest on wine, outliers clipped"}
    for run in runs.values():
        assert run.status == "done" and run.metrics["test"]["accuracy"] > 0.8
        pipeline = store.load_model(run.id)
        stored = store.load_predictions(run.id)["test"]
        split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
        again = pipeline.predict(split.X_test)
        assert np.array_equal(np.asarray(again).astype(str), np.asarray(stored.y_pred).astype(str))
        np.testing.assert_allclose(pipeline.predict_proba(split.X_test), stored.proba, atol=1e-6)
        report = MetricReport.from_dict(run.metrics) if hasattr(MetricReport, "from_dict") else None
        assert report is None or report.test["accuracy"] == run.metrics["test"]["accuracy"]
    assert "Neural network" in runs["legacy mlp on iris"].model_title


def test_legacy_runs_open_in_the_cli_and_the_report(legacy_home, tmp_path):
    listed = subprocess.run([sys.executable, "-m", "core", "list"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0 and "legacy mlp on iris" in listed.stdout
    out = tmp_path / "legacy.html"
    made = subprocess.run([sys.executable, "-m", "core", "report", "--run", "9ecf57fc44", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    assert "Iris" in out.read_text()
