"""Compression: each method on a small seeded MLP, the measured table, trees, persistence and the page."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from pathlib import Path

from core import compress
from core.compress import _fit as compress_impl
from core.common import ModelDeckError
from core.compress import CompressOptions

FAST = CompressOptions(sparsities=(0.5,), finetune_epochs=5, distill_epochs=15, rounds=2, repeats=3, threads=1)


@pytest.fixture(scope="module")
def mlp_run():
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    trained = train_model(load_dataset("builtin:breast_cancer"),
                          ModelSpec.create("mlp", hidden=(32, 16), epochs=25, dropout=0.0), cv_folds=0)
    run = save_trained(RunStore(), trained, "Breast cancer")
    return run, trained


@pytest.fixture(scope="module")
def data(mlp_run):
    from core.data import load_dataset
    from core.data import PrepOptions, split_dataset
    run, trained = mlp_run
    return compress.prepare_data(trained.pipeline, split_dataset(load_dataset(run.dataset_key),
                                                                  PrepOptions.from_dict(run.prep)))


def _net(trained):
    return copy.deepcopy(trained.pipeline.named_steps["model"].net_)


def _logits(net, X):
    import torch
    with torch.inference_mode():
        return net(torch.from_numpy(X)).float().numpy()


def _accuracy(net, data):
    return float(np.mean(data.head.predict(_logits(net, data.X_test)) == data.y_test))


def test_prepared_data_matches_the_pipeline(mlp_run, data):
    _run, trained = mlp_run
    net = trained.pipeline.named_steps["model"].net_
    assert data.X_train.dtype == np.float32 and data.X_test.shape[1] == 30
    labels = data.head.predict(_logits(net, data.X_test))
    assert list(labels) == list(trained.test_pred.y_pred)          # same predictions as the saved run


def test_count_params_matches_the_formula(mlp_run):
    net = _net(mlp_run[1])
    expected = 30 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2
    assert compress.count_params(net) == (expected, expected)
    assert compress.count_params(compress.quantize_int8(net))[0] == expected


def test_int8_is_close_to_fp32_and_leaves_the_original_alone(mlp_run, data):
    net = _net(mlp_run[1])
    before = {k: v.clone() for k, v in net.state_dict().items()}
    q = compress.quantize_int8(net)
    after = net.state_dict()
    assert all((before[k] == after[k]).all() for k in before)
    ref, out = _logits(net, data.X_test), _logits(q, data.X_test)
    assert np.max(np.abs(ref - out)) < 0.1 * np.max(np.abs(ref))
    assert np.mean(ref.argmax(1) == out.argmax(1)) >= 0.97
    with pytest.raises(ModelDeckError):
        compress.quantize_int8(net, backend="nope")


def test_half_precision_keeps_predictions(mlp_run, data):
    import torch
    net = _net(mlp_run[1])
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        half = compress.half_precision(net, name)
        assert next(half.parameters()).dtype == dtype and next(net.parameters()).dtype == torch.float32
        out = _logits(half, data.X_test)
        assert out.dtype == np.float32
        assert np.mean(out.argmax(1) == _logits(net, data.X_test).argmax(1)) >= 0.97


def test_unstructured_pruning_reaches_the_sparsity(mlp_run, data):
    net = _net(mlp_run[1])
    pruned = compress.prune_unstructured(net, 0.7, data, epochs=3)
    import torch
    weights = torch.cat([m.weight.flatten() for m in pruned.modules() if isinstance(m, torch.nn.Linear)])
    assert abs(float((weights == 0).float().mean()) - 0.7) < 0.01
    assert compress.count_params(net)[1] == compress.count_params(net)[0]     # original untouched
    assert _accuracy(pruned, data) >= _accuracy(net, data) - 0.05


def test_structured_pruning_really_removes_neurons(mlp_run, data):
    import torch
    net = _net(mlp_run[1])
    slim = compress.prune_structured(net, 0.5, data, "relu", epochs=10)
    widths = [m.out_features for m in slim if isinstance(m, torch.nn.Linear)]
    assert widths == [16, 8, 2]
    assert compress.count_params(slim)[0] == 30 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2
    assert _accuracy(slim, data) >= _accuracy(net, data) - 0.03


def test_structured_pruning_fold_is_exact_for_constant_neurons(mlp_run, data):
    """A neuron whose input weights are zero outputs relu(b): removing it and folding into the next bias is exact."""
    import torch
    net = _net(mlp_run[1])
    with torch.no_grad():
        net[0].weight[:16] = 0.0                   # 16 of 32 first-layer neurons become constants
        net[0].weight[16:] += 10.0 * torch.sign(net[0].weight[16:])   # and clearly more important than those
    slim = compress.prune_structured(net, 0.5, data, "relu", epochs=0)
    # the second hidden layer also loses half its neurons, so compare only up to the first cut: rebuild with keep=1
    ref = _logits(net, data.X_test)
    keep_all_second = compress.prune_structured(net, 0.5, data, "relu", epochs=0)
    assert keep_all_second[0].out_features == 16
    h_full = torch.relu(torch.from_numpy(data.X_test) @ net[0].weight.T + net[0].bias)
    h_slim = torch.relu(torch.from_numpy(data.X_test) @ slim[0].weight.T + slim[0].bias)
    z_full = h_full @ net[2].weight.T + net[2].bias
    kept = slim[0].weight.shape[0]
    assert kept == 16 and ref.shape[1] == 2
    # the second layer's pre-activations, restricted to neurons the slim net kept, are reproduced exactly
    slim_first = slim[2].weight.shape[0]
    assert slim_first == 8
    z_slim_all = h_slim @ net[2].weight[:, 16:].T.detach() + net[2].bias + \
        net[2].weight[:, :16].detach() @ torch.relu(net[0].bias[:16])
    assert torch.allclose(z_full, z_slim_all, atol=1e-4)


def test_distillation_pairs_the_same_student(mlp_run, data):
    import torch
    teacher = _net(mlp_run[1])
    distilled, plain = compress.distill(teacher, data, (8,), "relu", label_fraction=0.2, epochs=20, seed=3)
    shape = [tuple(p.shape) for p in distilled.parameters()]
    assert shape == [tuple(p.shape) for p in plain.parameters()] == [(8, 30), (8,), (2, 8), (2,)]
    assert not all(torch.equal(a, b) for a, b in zip(distilled.parameters(), plain.parameters()))
    assert _accuracy(distilled, data) >= 0.9 and _accuracy(plain, data) >= 0.85
    mask = compress.label_budget(data.y_train, 0.2, 3, "classification")
    assert mask.sum() == round(0.2 * len(data.y_train))
    assert abs(data.y_train[mask].mean() - data.y_train.mean()) < 0.03      # stratified


def test_soft_loss_matches_the_textbook_formula():
    import torch
    _hard, soft = compress_impl._loss_parts("classification")
    s, t, T = torch.randn(5, 3), torch.randn(5, 3), 3.0
    p, q = torch.softmax(t / T, 1), torch.log_softmax(s / T, 1)
    expected = (p * (torch.log(p) - q)).sum(1).mean() * T * T
    assert torch.allclose(soft(s, t, T), expected, atol=1e-6)


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    cost, score = rng.integers(0, 6, 40).astype(float), rng.integers(0, 6, 40).astype(float)
    front = compress.pareto_front(cost, score)
    for i in range(40):
        beaten = any(cost[j] <= cost[i] and score[j] >= score[i] and (cost[j], score[j]) != (cost[i], score[i])
                     for j in range(40))
        assert front[i] == (not beaten)


@pytest.fixture(scope="module")
def table(mlp_run):
    run, trained = mlp_run
    model = trained.pipeline.named_steps["model"]
    before = {k: v.clone() for k, v in model.net_.state_dict().items()}
    seen = []
    result = compress.compress_run(run.id, FAST, pipeline=trained.pipeline, progress=lambda f, m, *a: seen.append(f))
    after = model.net_.state_dict()
    assert all((before[k] == after[k]).all() for k in before), "the cached original was modified"
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    return result


def test_table_has_every_method_with_honest_columns(table):
    names = {r["variant"] for r in table.rows}
    assert {"fp32 (PyTorch)", "fp32 (ONNX Runtime)", "int8 dynamic (ONNX Runtime)", "int8 static QDQ (ONNX Runtime)",
            "int8 dynamic (PyTorch)", "fp16 weights (PyTorch)", "bf16 weights (PyTorch)", "pruned 50% unstructured",
            "structured 50% neurons kept", "structured + int8 (PyTorch)", "student 16 distilled",
            "student 16 no distillation", "distilled + int8 (PyTorch)"} <= names
    assert table.baseline in ("fp32 (PyTorch)", "fp32 (ONNX Runtime)")
    base = table.row(table.baseline)
    assert base["size_x"] == 1.0 and base["speed_b1_x"] == 1.0
    for r in table.rows:
        assert r["b1_ms"] > 0 and r["b1_p90_ms"] >= r["b1_ms"] and r["b256_ms"] > 0 and r["b1_runs"] >= 6
        assert r["noisy"] == (r["b1_p90_ms"] > 2 * r["b1_ms"] or r["b256_p90_ms"] > 2 * r["b256_ms"])
        assert 0.85 <= r["accuracy"] <= 1 and r["nonzero"] <= r["params"]
        assert r["size_x"] == pytest.approx(base["bytes"] / r["bytes"])
    pruned = table.row("pruned 50% unstructured")
    fp32 = table.row("fp32 (PyTorch)")
    assert pruned["bytes"] == fp32["bytes"] and pruned["gzip_bytes"] < 0.8 * fp32["gzip_bytes"]
    biases = 32 + 16 + 2                                           # pruning removes weights, not biases
    assert pruned["nonzero"] <= 0.5 * (pruned["params"] - biases) + biases + 1
    assert table.row("structured 50% neurons kept")["params"] < 0.5 * fp32["params"]
    assert table.row("int8 dynamic (ONNX Runtime)")["bytes"] < table.row("fp32 (ONNX Runtime)")["bytes"]
    assert fp32["agreement"] == 1.0 and table.row("fp32 (ONNX Runtime)")["agreement"] == 1.0
    assert table.threads == 1 and "flags" in table.cpu


def test_shap_ranks_say_whether_the_reasons_changed(table, mlp_run, data):
    fp32, int8 = table.row("fp32 (PyTorch)"), table.row("int8 dynamic (ONNX Runtime)")
    assert fp32["shap_rank_corr"] == pytest.approx(1.0) and table.row("fp32 (ONNX Runtime)")["shap_rank_corr"] > 0.99
    assert int8["shap_rank_corr"] > 0.9                           # 8-bit weights keep the ranking of the inputs
    assert all(-1.0 <= r["shap_rank_corr"] <= 1.0 for r in table.rows)
    assert any("SHAP rank correlation" in note for note in table.notes)
    # the helper itself: Permutation SHAP of the original equals the Linear SHAP identity on a linear "variant"
    import numpy as np
    w = np.arange(1, data.X_test.shape[1] + 1, dtype=np.float32)
    linear = compress.Variant("linear", "baseline", "numpy", lambda X: (X @ w)[:, None], Path("."), 0, 0)
    imp = compress.shap_importance(linear, data, rows=20, background=10, seed=0)
    rng = np.random.default_rng(0)
    bg = data.X_train[rng.choice(len(data.X_train), 10, replace=False)]
    X = data.X_test[rng.choice(len(data.X_test), 20, replace=False)]
    np.testing.assert_allclose(imp, np.abs((X - bg.mean(axis=0)) * w).mean(axis=0), rtol=1e-4, atol=1e-5)


def test_exported_variants_pass_parity(table):
    exported = [r for r in table.rows if r["engine"] == "PyTorch" and r["onnx_file"]]
    assert len(exported) >= 5
    for r in exported:
        assert r["parity_max_abs_diff"] <= 1e-4 and r["parity_labels_equal"] == 1.0, r["variant"]


def test_result_is_saved_with_the_run(table, mlp_run):
    loaded = compress.load_result(mlp_run[0].id)
    assert loaded.rows == table.rows and loaded.baseline == table.baseline
    for r in table.rows:
        assert compress.artifact_path(mlp_run[0].id, r["artifact"]).exists()
    with pytest.raises(ModelDeckError):
        compress.artifact_path(mlp_run[0].id, "../../modeldeck.db")


def test_budget_picks_the_fastest_within_limits(table):
    best, why = compress.pick_variant(table, max_bytes=1e9, max_ms=1e9, max_loss_points=100)
    assert best["b1_ms"] == min(r["b1_ms"] for r in table.rows) and why.startswith(f"Ship '{best['variant']}'")
    assert "answers one request fastest" in why
    strict = compress.pick_variant(table, max_bytes=1, max_ms=1e9, max_loss_points=0)
    assert strict[0] is None and "size" in strict[1]
    honest = compress.fastest_honest(table)
    within = [r for r in table.rows if r["val_delta_points"] >= -1.0]
    assert honest["b1_ms"] == min(r["b1_ms"] for r in within)
    assert f"'{honest['variant']}'" in compress.headline(table)
    assert table.val_rows > 0 and f"Chosen on {table.val_rows} validation rows" in compress.selection_note(table)
    assert f"measured once on {table.test_rows} unseen test rows" in compress.selection_note(table)


def test_validation_rows_are_held_out_of_the_training_split_and_fitted_on_by_no_variant(data, mlp_run):
    """Train (what variants are fitted on) and validation rows partition the run's training split; the test rows
    are all kept; the same seed holds out the same rows; each class keeps its share."""
    from core.data import PrepOptions, load_dataset, split_dataset
    run, trained = mlp_run
    split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    n = len(split.X_train)
    assert len(data.X_train) + len(data.X_val) == n and len(data.X_test) == len(split.X_test)
    assert len(data.X_val) == round(compress.VALIDATION_SHARE * n)
    prep = trained.pipeline.named_steps["prep"]
    every = {tuple(r) for r in prep.transform(split.X_train).astype("float32")}
    fitted, held = {tuple(r) for r in data.X_train}, {tuple(r) for r in data.X_val}
    assert not fitted & held and fitted | held == every
    again = compress.validation_rows(split.y_train)
    assert (again == compress.validation_rows(split.y_train)).all() and again.sum() == len(data.X_val)
    share = split.y_train.astype(str).value_counts(normalize=True)
    held_share = split.y_train[again].astype(str).value_counts(normalize=True)
    assert (abs(share - held_share) < 0.02).all()
    assert not compress.validation_rows(split.y_train[:50]).any()          # too few rows to spare: none held out


def test_charts_draw_the_front(table):
    from core.compress import charts as charts_compress
    fig = charts_compress.tradeoff_figure(table, "bytes")
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert 1 <= len(front.x) <= len(table.rows)
    assert len(charts_compress.latency_figure(table).data) == 2


def test_trees_trade_count_and_depth():
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    trained = train_model(load_dataset("builtin:breast_cancer"), ModelSpec.create("random_forest", n_estimators=20),
                          cv_folds=0)
    run = save_trained(RunStore(), trained, "Breast cancer")
    result = compress.compress_run(run.id, FAST, pipeline=trained.pipeline)
    original = result.row("original ensemble")
    assert original["accuracy"] == pytest.approx(trained.report.test["accuracy"])
    small = result.row("2 trees, same depth")
    assert small["params"] < 0.2 * original["params"] and small["bytes"] < original["bytes"]
    onnx = result.row("original ensemble (ONNX Runtime)")
    assert onnx["agreement"] == 1.0 and original["parity_max_abs_diff"] <= 1e-4
    assert trained.pipeline.named_steps["model"].n_estimators == 20


def test_unsupported_family_says_what_to_do():
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    trained = train_model(load_dataset("builtin:iris"), ModelSpec.create("knn"), cv_folds=0)
    run = save_trained(RunStore(), trained, "Iris")
    with pytest.raises(ModelDeckError, match="neural network"):
        compress.compress_run(run.id, FAST)
    with pytest.raises(ModelDeckError, match="sparsities|Sparsities"):
        CompressOptions(sparsities=(1.5,)).check()


def test_compress_page_measures_and_picks(fresh_home):
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from tests.test_pages import assert_clean, button, finish_jobs, open_page
    trained = train_model(load_dataset("builtin:breast_cancer"), ModelSpec.create("random_forest", n_estimators=10),
                          cv_folds=0)
    run = save_trained(RunStore(), trained, "Breast cancer")
    at = open_page("pages/compress.py", run=run.id)
    assert_clean(at)
    assert any("Not compressed yet" in i.value for i in at.info)
    at.number_input(key="compress_rounds").set_value(2)
    button(at, "compress_go").click().run()
    assert_clean(at)
    finish_jobs(at)                           # compression runs as a background job
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 3
    assert at.subheader and ("smaller" in at.subheader[0].value or "original" in at.subheader[0].value)
    at.button(key="FormSubmitter:compress_budget-Pick the variant").click().run()
    assert_clean(at)
    assert at.success or at.warning
    assert compress.load_result(run.id) is not None
