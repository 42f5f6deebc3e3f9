"""Issue 11: the compression "same reasons" check uses exact SHAP where the variant allows (Tree, Deep), at least 100
rows, and states the rank correlation with its interval — and the sentence says only that."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.compress import CompressData, Head, TradeoffTable, Variant, rank_agreement, reasons_note, shap_values
from core.compress._reasons import method_for


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return CompressData(X[:160], y[:160], X[160:], y[160:], Head("classification", classes=np.array([0, 1])))


def _net():
    import torch
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 1)).eval()


def test_each_variant_gets_the_exact_method_it_allows(data):
    import torch
    from sklearn.ensemble import RandomForestClassifier
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(data.X_train, data.y_train)
    net = _net()
    int8 = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
    run = lambda X: X[:, :1]  # noqa: E731
    assert method_for(Variant("trees", "trees", "scikit-learn", forest.predict_proba, Path("."), 0, 0,
                              module=forest)) == "tree"
    assert method_for(Variant("fp32", "baseline", "PyTorch", run, Path("."), 0, 0, module=net)) == "deep"
    assert method_for(Variant("int8", "quantize", "PyTorch", run, Path("."), 0, 0, module=int8)) == "permutation"
    assert method_for(Variant("onnx", "baseline", "ONNX Runtime", run, Path("."), 0, 0)) == "permutation"


def test_deep_shap_of_a_linear_net_is_exact_on_at_least_100_rows(data):
    import torch
    net = _net()
    v = Variant("fp32", "baseline", "PyTorch", lambda X: net(torch.from_numpy(X)).detach().numpy(), Path("."), 0, 0,
                module=net)
    values, method = shap_values(v, data, seed=0)
    assert method == "deep" and values.shape == (100, 6)          # 40 test rows topped up with 60 training rows
    sampled, how = shap_values(v, data, seed=0, method="permutation")
    assert how == "permutation"
    np.testing.assert_allclose(values, sampled, atol=1e-5)        # both exact on a linear model


def test_the_rank_correlation_comes_with_its_interval():
    rng = np.random.default_rng(1)
    reference = np.abs(rng.normal(size=(100, 8))) * np.arange(1, 9)
    same = rank_agreement(reference, reference.copy())
    assert same == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))
    noisy = np.abs(reference + rng.normal(scale=4.0, size=reference.shape))
    rho, low, high = rank_agreement(reference, noisy)
    assert low <= rho <= high and high - low > 0.01


def test_the_sentence_says_what_was_measured_and_no_more():
    rows = [{"variant": "fp32", "shap_rank_corr": 1.0, "shap_rank_low": 1.0, "shap_rank_high": 1.0,
             "shap_method": "deep", "shap_rows": 100},
            {"variant": "int8", "shap_rank_corr": 0.93, "shap_rank_low": 0.78, "shap_rank_high": 0.97,
             "shap_method": "permutation", "shap_rows": 100}]
    table = TradeoffTable("r", "mlp", "classification", "accuracy", "fp32", rows, 1, {}, {}, 40)
    note = reasons_note(table)
    assert "'int8' ρ 0.93 (0.78–0.97)" in note and "not firm" in note and "Measured on 100 rows" in note
    assert "same reasons" not in note and "not the size of each push" in note
    rows[1]["shap_rank_corr"] = 0.5
    assert reasons_note(table).startswith("These variants order the inputs by importance differently")


def _row(name, size, test_delta, train_delta):
    return {"variant": name, "method": "quantize", "bytes": size, "b1_ms": 0.1, "size_x": 1000 / size,
            "delta_points": test_delta, "train_delta_points": train_delta}


def test_the_budget_pick_reads_the_training_rows_not_the_test_rows():
    from core.compress import pick_variant
    rows = [_row("original", 1000, 0.0, 0.0), _row("tiny", 100, 0.0, -3.0), _row("small", 400, -3.0, -0.5)]
    table = TradeoffTable("r", "mlp", "classification", "accuracy", "original", rows, 1, {}, {}, 114)
    best, why = pick_variant(table, max_loss_points=1.0)
    # on the test rows 'tiny' looks free; on the training rows it loses 3 points, so the pick is 'small'
    assert best["variant"] == "small" and "the test rows chose nothing" in why
    assert "on the 114 test rows, measured once, it loses 3.0 points of accuracy" in why
    for r in rows:
        del r["train_delta_points"]                      # a table saved before training-row scores
    best, why = pick_variant(table, max_loss_points=1.0)
    assert best["variant"] == "tiny" and "the test rows chose it" in why
