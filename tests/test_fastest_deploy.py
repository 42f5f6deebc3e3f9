"""Fastest honest deployment: the pick is the best measured batch-1 latency within the accuracy budget, whichever
engine runs it; PyTorch's int8 runs as a frozen graph with the same outputs; when it falls short of 2×, the page
says why on this CPU."""
from __future__ import annotations

import numpy as np
import pytest

from core.compress import TradeoffTable, fastest_honest, headline, int8_note, pick_variant, selection_note, slow_notes

VNNI = {"model": "AMD EPYC", "cores": 2, "flags": ["avx2", "avx512f", "avx512_vnni"]}


def _row(name, engine, method, b1_ms, size, train_delta, test_delta=0.0, params=1_000_000):
    return {"variant": name, "engine": engine, "method": method, "b1_ms": b1_ms, "bytes": size, "params": params,
            "train_delta_points": train_delta, "delta_points": test_delta, "agreement": 0.995, "noisy": False}


def _table(rows, cpu=VNNI):
    return TradeoffTable("r", "mlp", "classification", "accuracy", rows[0]["variant"], rows, 1, cpu, {}, 360)


ROWS = [_row("fp32 (PyTorch)", "PyTorch", "baseline", 0.100, 5_500_000, 0.0),
        _row("int8 dynamic (PyTorch)", "PyTorch", "quantize", 0.070, 1_400_000, -0.2),
        _row("fp32 (ONNX Runtime)", "ONNX Runtime", "baseline", 0.065, 5_500_000, 0.0),
        _row("int8 dynamic (ONNX Runtime)", "ONNX Runtime", "quantize", 0.025, 1_400_000, 0.1),
        _row("pruned 90% unstructured", "PyTorch", "prune", 0.010, 5_500_000, -4.0),
        _row("student 16 distilled", "PyTorch", "distill", 0.020, 100_000, -0.6, test_delta=-3.0)]


def test_the_default_is_the_fastest_within_the_budget_whatever_the_engine():
    table = _table([dict(r) for r in ROWS])
    # the pruned net is fastest but loses 4 points on the training rows; the student is next and within a point
    assert fastest_honest(table)["variant"] == "student 16 distilled"
    assert fastest_honest(table, max_loss_points=0.5)["variant"] == "int8 dynamic (ONNX Runtime)"
    assert fastest_honest(table, max_loss_points=10)["variant"] == "pruned 90% unstructured"
    text = headline(table, max_loss_points=0.5)
    assert text.startswith("Ship 'int8 dynamic (ONNX Runtime)': of the variants within 0.5 point of accuracy on the "
                           "training rows, it answers a single request fastest, 0.025 ms, 4.0× faster than "
                           "'fp32 (PyTorch)', and it is 3.9× smaller than 'fp32 (PyTorch)'")
    assert "same answer as the original on 99.5% of the 360 test rows" in text


def test_the_test_rows_choose_nothing():
    # on the test rows the student lost 3 points; on the training rows 0.6: it is still the pick within 1 point
    table = _table([dict(r) for r in ROWS])
    best, why = pick_variant(table, max_loss_points=1.0)
    assert best["variant"] == "student 16 distilled" and "the test rows chose nothing" in why
    assert "it loses 3.0 points of accuracy" in why


def test_the_budget_pick_is_the_fastest_within_every_limit():
    table = _table([dict(r) for r in ROWS])
    best, why = pick_variant(table, max_bytes=2_000_000, max_ms=1.0, max_loss_points=0.5)
    assert best["variant"] == "int8 dynamic (ONNX Runtime)"
    assert why.startswith("Ship 'int8 dynamic (ONNX Runtime)': it answers one request fastest of the 2 variants "
                          "within your limits (0.025 ms, 4.0× faster than 'fp32 (PyTorch)'")
    # equal latency: the smaller file wins
    rows = [_row("a", "PyTorch", "baseline", 0.1, 900, 0.0), _row("b", "ONNX Runtime", "quantize", 0.1, 300, 0.0)]
    assert pick_variant(_table(rows), max_loss_points=1)[0]["variant"] == "b"
    assert "'b' (ONNX Runtime)" in pick_variant(_table(rows), max_loss_points=1)[1]


def test_the_original_is_kept_when_nothing_honest_is_faster():
    rows = [_row("fp32 (PyTorch)", "PyTorch", "baseline", 0.01, 9000, 0.0),
            _row("int8 dynamic (PyTorch)", "PyTorch", "quantize", 0.03, 3000, 0.0)]
    table = _table(rows)
    assert fastest_honest(table) is rows[0]
    assert headline(table).startswith("Keep 'fp32 (PyTorch)': no variant within 1 point")


def test_the_page_says_why_pytorch_int8_is_not_twice_as_fast_on_this_cpu():
    slow = [_row("fp32 (PyTorch)", "PyTorch", "baseline", 0.010, 12_000, 0.0, params=3_106),
            _row("int8 dynamic (PyTorch)", "PyTorch", "quantize", 0.008, 4_000, 0.0, params=3_106),
            _row("int8 dynamic (ONNX Runtime)", "ONNX Runtime", "quantize", 0.004, 4_000, 0.0, params=3_106)]
    note = int8_note(_table(slow))
    assert note.startswith("PyTorch's int8 is 1.25× as fast as its float32 per request here, not 2×: this CPU has "
                           "int8 instructions (VNNI)")
    assert "a network of 3,106 parameters" in note and "(AMD EPYC (avx2, avx512f, avx512_vnni))" in note
    assert "ONNX Runtime's int8 answers in 0.004 ms (2.5×)" in note
    assert note in slow_notes(_table(slow))
    old_cpu = {"model": "Old Xeon", "flags": ["avx2"]}
    assert "no VNNI int8 instructions" in int8_note(_table(slow, old_cpu))
    fast = [dict(r) for r in slow]
    fast[1]["b1_ms"] = 0.004
    assert int8_note(_table(fast)) == ""


@pytest.fixture(scope="module")
def net():
    import torch
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 3)).eval()


def test_int8_runs_as_a_frozen_graph_with_the_same_outputs_as_its_layers(net):
    import copy

    import torch

    from core.compress import count_params, quantize_int8
    q = quantize_int8(net)
    x = torch.randn(300, 20)
    with torch.inference_mode():
        graph_out, eager_out = q(x), q.net(x)
    assert isinstance(q._graph, torch.jit.ScriptModule)          # built at the first call
    assert torch.equal(graph_out, eager_out)
    with torch.inference_mode():
        assert torch.equal(q(x[:1]), q.net(x[:1]))       # any batch size (activation scales are per batch)
        assert torch.equal(copy.deepcopy(q)(x), graph_out)       # a copy rebuilds its own graph
    assert count_params(q) == count_params(quantize_int8(net, backend="torch.ao eager"))
    assert all(not k.startswith("_graph") for k in q.state_dict())


def test_full_range_activations_only_where_the_cpu_has_vnni(net, monkeypatch):
    import torch

    from core.compress import _quantize, quantize_int8
    monkeypatch.setattr(_quantize, "full_range_int8", lambda: False)
    narrow = quantize_int8(net)
    assert all(m._reduce_range for m in narrow.modules() if hasattr(m, "_reduce_range"))
    monkeypatch.setattr(_quantize, "full_range_int8", lambda: True)
    full = quantize_int8(net)
    assert not any(m._reduce_range for m in full.modules() if hasattr(m, "_reduce_range"))
    x = torch.randn(500, 20)
    with torch.inference_mode():
        ref, a, b = net(x), narrow(x), full(x)
        default = quantize_int8(net, backend="torch.ao eager")(x)
    assert torch.equal(a, default)                   # 7 bits: exactly torch.ao's default
    assert float((b - ref).abs().mean()) < float((a - ref).abs().mean())     # 8 bits: closer to float32


def test_the_timing_records_the_cpu_flags_engine_and_load():
    from core.compress._timing import cpu_info
    info = cpu_info()
    assert {"model", "cores", "flags", "quant_engine", "load_1min"} <= set(info)
    import torch
    assert info["quant_engine"] in torch.backends.quantized.supported_engines
    assert np.isfinite(info["load_1min"])


def test_the_pick_is_the_validation_winner_not_the_test_winner():
    """A constructed table where the validation rows and the test rows disagree: on the test rows the pruned net
    looks free and would be picked; on the validation rows it loses 4 points, so the pick is the int8 model, and the
    page says on which rows it was chosen and that the test rows were scored once."""
    rows = [dict(r, val_delta_points=r.pop("train_delta_points")) for r in (dict(r) for r in ROWS[:5])]
    rows[4]["delta_points"], rows[3]["delta_points"] = 0.3, -0.4      # test-best: 'pruned'; validation-best: int8
    table = _table(rows)
    table.val_rows = 91
    by_test = min((r for r in rows if r["delta_points"] >= -0.2), key=lambda r: r["b1_ms"])
    assert by_test["variant"] == "pruned 90% unstructured"
    best, why = pick_variant(table, max_loss_points=1.0)
    assert best["variant"] == "int8 dynamic (ONNX Runtime)" == fastest_honest(table)["variant"]
    assert "on the 91 validation rows (the test rows chose nothing)" in why
    assert "on the 360 test rows, measured once, it loses 0.4 points of accuracy" in why
    assert "within 1 point of accuracy on the 91 validation rows" in headline(table)
    note = selection_note(table)
    assert note.startswith("Chosen on 91 validation rows held out of the training split")
    assert note.endswith("measured once on 360 unseen test rows.")
    old = _table([dict(r) for r in ROWS])                 # a table saved before validation rows: says so
    assert "training rows the model was fitted on" in selection_note(old)
