"""Cached resources are shared by every session and never changed by one (issue 12): a session compresses a run's
network (quantization, pruning, distillation work on copies) and explains it (the SHAP engine hooks a copy), then
the cached fitted pipeline is byte for byte the one on disk."""
from __future__ import annotations

import hashlib

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import APP


def fingerprint(pipeline, rows) -> str:
    """What compression or explanation could change in place: the network's tensors (names, dtypes, values: pruning
    adds masks, quantization changes dtypes), every step's settings, and the answers on fixed rows. (skops bytes
    differ between two loads of the same file, so they cannot serve.)"""
    digest = hashlib.sha256()
    net = pipeline.steps[-1][1].net_
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(repr(pipeline.get_params(deep=True)).encode())
    digest.update(pipeline.predict_proba(rows).tobytes())
    return digest.hexdigest()


@pytest.mark.timeout(900)
def test_compressing_and_explaining_leave_the_cached_model_unchanged(fresh_home, monkeypatch):
    monkeypatch.setattr("ui.jobs.INLINE", True)     # the compression job runs in this process, beside the cache
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from ui.runs import run_model
    ds = load_builtin("iris")
    run = save_trained(RunStore(), train_model(ds, ModelSpec.create("mlp", epochs=40), cv_folds=0), ds.name)
    from core.data import PrepOptions, split_dataset
    rows = split_dataset(ds, PrepOptions.from_dict(run.prep)).X_test
    on_disk = fingerprint(RunStore().load_model(run.id), rows)
    assert fingerprint(RunStore().load_model(run.id), rows) == on_disk        # the fingerprint is stable

    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["run"] = run.id
    at.switch_page("pages/compress.py")
    at.run()
    at.number_input(key="compress_ft").set_value(2).run()
    at.number_input(key="compress_de").set_value(5).run()
    at.button(key="compress_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("variants" in c.value for c in at.caption), "the compression did not run"
    at.switch_page("pages/explain.py")
    at.run()
    if any(b.key and b.key.startswith("explain_go_") for b in at.button):       # a slow machine asks first
        next(b for b in at.button if b.key.startswith("explain_go_")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("plotly_chart"), "the explanation was not drawn"

    version = RunStore().get(run.id).updated_at.isoformat()
    cached = run_model(run.id, version)
    assert cached is run_model(run.id, version)          # the shared object the pages used
    assert fingerprint(cached, rows) == on_disk
