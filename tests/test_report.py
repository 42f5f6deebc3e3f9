"""The HTML report: self-contained, built from a saved run, opens offline in Chromium with its charts drawn."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from core.data import load_builtin
from core.models import ModelSpec
from core.runs import RunStore, save_trained
from core.train import train_model


@pytest.fixture()
def saved_run(fresh_home):
    dataset = load_builtin("churn")
    trained = train_model(dataset, ModelSpec.create("hist_gb", max_iter=30), cv_folds=3)
    return save_trained(RunStore(), trained, dataset.name)


def test_report_is_self_contained_and_complete(saved_run, tmp_path):
    from core.share import build_report
    text = build_report(saved_run.id)
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", text)   # nothing fetched from outside
    for heading in ("In plain words", "The data", "How good is the model?", "Advice", "Reproduce it"):
        assert f"<h2>{heading}</h2>" in text
    assert "<h2>The pictures</h2>" not in text                                # a table: no picture section
    assert "The model is right" in text and "scikit-learn" in text and f"python -m core train --from-run {saved_run.id}" in text  # issue 11
    assert text.count("Plotly.newPlot") >= 5


def test_report_cli_writes_a_file(saved_run, tmp_path, fresh_home):
    out = tmp_path / "r.html"
    env = {"MODELDECK_HOME": str(fresh_home), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "core", "report", "--run", saved_run.id, "--out", str(out)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 100_000


@pytest.mark.e2e
def test_report_opens_offline_in_chromium(saved_run, tmp_path):
    if not shutil.which("chromium") and not shutil.which("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    from core.share import write_report
    path = write_report(saved_run.id, tmp_path / "report.html")
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        drawn = page.locator(".js-plotly-plot").count()
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "report.png"))
        browser.close()
    assert drawn >= 5
    assert re.search(r"right \d+ times out of 100", text)
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests), requests


def test_report_includes_the_compression_table(saved_run):
    from core.compress import CompressOptions, compress_run
    from core.share import build_report
    compress_run(saved_run.id, CompressOptions(onnx=False, rounds=1, repeats=3))
    text = build_report(saved_run.id)
    assert "<h2>Smaller and faster</h2>" in text and "Measured with 1 thread" in text


def test_advice_reads_what_compress_stored(saved_run):
    from core import share
    from core.compress import CompressOptions, compress_run
    store = RunStore()
    assert share.run_evidence(store.get(saved_run.id), store).compression_pick is None
    compress_run(saved_run.id, CompressOptions(onnx=False, rounds=1, repeats=3))
    from core.compress import load_result, pick_variant
    evidence = share.run_evidence(store.get(saved_run.id), store)
    best, _why = pick_variant(load_result(saved_run.id, store), max_loss_points=1.0)   # what the page would pick
    fired = any(a.rule == "compression_pick" for a in share.advise(evidence))
    if best is None or best["method"] == "baseline":    # timing decides: on a loaded machine the original may be fastest
        assert evidence.compression_pick is None and not fired
    else:
        assert evidence.compression_pick == {"name": best["variant"], "size_ratio": best["size_x"],
                                             "speed_ratio": best["speed_b1_x"],
                                             "accuracy_change": best["delta_points"] / 100}
        assert fired


def test_advice_reads_the_stored_shap_and_permutation_agreement(saved_run):
    from core import share
    from core import explain as ex
    from core.data import load_dataset
    from core.data import PrepOptions, split_dataset
    store = RunStore()
    run = store.get(saved_run.id)
    split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    pipeline = store.load_model(run.id)
    expl = ex.explain_split(ex.ShapEngine(pipeline, split.X_train, run.task, "churned"), split, max_rows=200)
    ex.save_explanation(expl, ex.explanation_stem(store.folder(run.id), expl.method, 200, 0))
    perm = ex.permutation_importance_test(pipeline, split.X_test, split.y_test, run.task, n_repeats=3)
    ex.save_json(store.folder(run.id) / "explain" / "permutation_0.json", perm.to_dict())
    agreement = share.run_evidence(run, store).importance_agreement
    expected = ex.rank_agreement(expl.importance(0), perm.series())[1]
    assert agreement == pytest.approx(expected) and -1.0 <= agreement <= 1.0
