"""Compressing a CNN (issue 13): filter pruning keeps the network's function, every variant is measured, exports
match the network (parity), and the run's model is never modified."""
from __future__ import annotations

import numpy as np
import pytest

from core.data import PrepOptions, load_dataset, split_dataset


@pytest.fixture(scope="module")
def cnn_run(module_home):
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_dataset("builtin:digits")
    trained = train_model(ds, ModelSpec.create("cnn", seed=0, epochs=8), PrepOptions(), cv_folds=0)
    store = RunStore()
    yield store, save_trained(store, trained, ds.name), trained


def test_filter_surgery_keeping_every_filter_is_the_same_network(cnn_run):
    import torch
    from core.compress import prepare_data
    from core.compress._cnn import cnn_params, prune_filters
    _store, _run, trained = cnn_run
    model = trained.pipeline.named_steps["model"]
    data = prepare_data(trained.pipeline, split_dataset(load_dataset("builtin:digits"), PrepOptions()))
    same = prune_filters(model.net_.eval(), model.arch_, 1.0, data, epochs=0)
    half = prune_filters(model.net_.eval(), model.arch_, 0.5, data, epochs=0)
    x = torch.from_numpy(data.X_test[:50])
    with torch.no_grad():
        np.testing.assert_allclose(same(x).numpy(), model.net_.eval()(x).numpy(), atol=1e-5)
        assert half(x).shape == (50, 10)
    assert cnn_params(half)[0] < cnn_params(same)[0]
    assert [m.out_channels for m in half.modules() if hasattr(m, "out_channels")] == \
        [c // 2 for c in model.arch_["convs"]]


def test_the_report_of_a_cnn_run_shows_its_most_confident_mistakes(cnn_run):
    from core.share import build_report
    _store, run, _trained = cnn_run
    text = build_report(run.id)
    assert "The pictures" in text and "The most confident mistakes" in text     # heat maps of its worst errors
    assert "random pictures of each class (8×8, grey)" in text


def test_compress_run_measures_every_variant_of_a_cnn(cnn_run):
    from core.compress import CompressOptions, compress_run, load_result, supported
    store, run, trained = cnn_run
    before = trained.pipeline.named_steps["model"].predict_proba(
        split_dataset(load_dataset("builtin:digits"), PrepOptions()).X_test)
    assert supported("cnn")
    table = compress_run(run.id, CompressOptions(rounds=1, repeats=3, finetune_epochs=4, distill_epochs=14,
                                                 half=False), store=store, pipeline=trained.pipeline)
    rows = {r["variant"]: r for r in table.rows}
    assert list(rows)[0] == "fp32 (PyTorch)" and "int8 static QDQ (ONNX Runtime)" in rows
    assert any(name.startswith("structured") for name in rows) and any("distilled" in name for name in rows)
    exported = [r for r in table.rows if r.get("parity_max_abs_diff") == r.get("parity_max_abs_diff")
                and r.get("parity_max_abs_diff") is not None]
    assert exported and all(r["parity_max_abs_diff"] < 1e-3 and r["parity_labels_equal"] == 1.0 for r in exported)
    base = rows["fp32 (PyTorch)"]["params"]
    assert all(r["params"] < base for name, r in rows.items() if name.startswith(("structured", "student")))
    scores = {r["variant"]: r["accuracy"] for r in table.rows}
    # the half-width students learn for 2 epochs only (distill_epochs // CNN_EPOCH_SHARE): they land near 0.8
    assert all(v > (0.7 if name.startswith("student") else 0.8) for name, v in scores.items()), scores
    assert load_result(run.id, store).rows[0]["variant"] == "fp32 (PyTorch)"
    after = trained.pipeline.named_steps["model"].predict_proba(
        split_dataset(load_dataset("builtin:digits"), PrepOptions()).X_test)
    np.testing.assert_array_equal(before, after)
