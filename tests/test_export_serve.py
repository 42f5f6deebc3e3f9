"""ONNX export parity, ONNX Runtime quantization, and the prediction server over real HTTP on 127.0.0.1."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.sessions import free_port
from core import compress as export

ROOT = Path(__file__).resolve().parents[1]


def _mlp(n_in=12, hidden=(24, 16), n_out=3, seed=0):
    import torch

    from core.models import build_mlp
    return build_mlp(n_in, n_out, hidden, "relu", generator=torch.Generator().manual_seed(seed)).eval()


def _torch_out(net, X):
    import torch
    with torch.inference_mode():
        return net(torch.from_numpy(X)).numpy()


def test_torch_export_matches_pytorch_within_1e_4(tmp_path):
    net = _mlp()
    X = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    path = export.export_torch(net, 12, tmp_path / "m.onnx")
    model = export.OnnxModel(path)
    check = export.parity(_torch_out(net, X), model.raw(X), classification=True)
    assert check.ok and check.max_abs_diff <= 1e-4 and check.labels_equal == 1.0 and check.rows == 300
    assert model.raw(X[:1]).shape == (1, 3) and model.raw(X[:257]).shape == (257, 3)   # any batch size
    assert export.artifact_bytes(path) == path.stat().st_size and not Path(str(path) + ".data").exists()


def test_parity_detects_a_difference():
    a = np.array([[0.0, 1.0], [1.0, 0.0]])
    bad = export.parity(a, a[::-1], classification=True)
    assert not bad.ok and bad.labels_equal == 0.0 and bad.max_abs_diff == 1.0


def test_ort_int8_files_are_smaller_and_close(tmp_path):
    net = _mlp(64, (256, 256), 4)
    X = np.random.default_rng(1).normal(size=(200, 64)).astype(np.float32)
    fp32 = export.export_torch(net, 64, tmp_path / "fp32.onnx")
    dyn = export.quantize_onnx_dynamic(fp32, tmp_path / "dyn.onnx")
    static = export.quantize_onnx_static(fp32, tmp_path / "static.onnx", X[:64])
    ref = _torch_out(net, X)
    for path in (dyn, static):
        assert export.artifact_bytes(path) < 0.4 * export.artifact_bytes(fp32)
        out = export.OnnxModel(path).raw(X)
        assert np.mean(out.argmax(1) == ref.argmax(1)) >= 0.9
        assert np.max(np.abs(out - ref)) < 0.2 * np.max(np.abs(ref))


def test_sklearn_export_random_forest_parity(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, y)
    model = export.OnnxModel(export.export_sklearn(rf, X.shape[1], tmp_path / "rf.onnx"))
    check = export.parity(rf.predict_proba(X), model.raw(X), classification=True)
    assert check.max_abs_diff <= 1e-4 and check.labels_equal == 1.0


def test_sklearn_without_converter_says_so(tmp_path):
    from core.common import ModelDeckError

    class Odd:
        pass
    with pytest.raises(ModelDeckError, match="skl2onnx"):
        export.export_sklearn(Odd(), 3, tmp_path / "x.onnx")


# ---------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def served_run(tmp_path_factory):
    """A churn MLP run (numeric + categorical features) and a server started with `python -m core serve`."""
    home = tmp_path_factory.mktemp("serve-home")
    env = {**os.environ, "MODELDECK_HOME": str(home)}
    env.pop("MODELDECK_DB_URL", None)
    train = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "churn", "--model", "mlp", "--param",
                            "epochs=5", "--param", "hidden=16", "--cv", "0", "--quiet"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert train.returncode == 0, train.stderr
    run_id = next(line.split("?run=")[1] for line in train.stdout.splitlines() if "?run=" in line).strip()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "core", "serve", "--run", run_id, "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.3)
        yield run_id, base, home
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _test_rows(run_id, home, monkeypatch, n=20):
    monkeypatch.setenv("MODELDECK_HOME", str(home))
    from core.data import load_dataset
    from core.data import PrepOptions, split_dataset
    from core.runs import RunStore
    store = RunStore()
    run = store.get(run_id)
    pipeline = store.load_model(run_id)
    split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    X = split.X_test.iloc[:n]
    return pipeline, X


def test_health_and_docs(served_run):
    run_id, base, _home = served_run
    health = httpx.get(f"{base}/health").json()
    assert health["status"] == "ok" and health["run"] == run_id and health["variant"] == "original (ONNX Runtime)"
    assert len(health["features"]) > 3 and health["classes"]
    assert httpx.get(f"{base}/docs").status_code == 200
    spec = httpx.get(f"{base}/openapi.json").json()
    assert "/predict" in spec["paths"] and "/health" in spec["paths"]


def test_batch_predictions_match_the_pipeline(served_run, monkeypatch):
    run_id, base, home = served_run
    pipeline, X = _test_rows(run_id, home, monkeypatch)
    rows = [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in X.to_numpy().tolist()]
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in rows]
    answer = httpx.post(f"{base}/predict", json={"instances": rows})
    assert answer.status_code == 200, answer.text
    assert any(v is None for row in rows for v in row), "the sample should include missing values (sent as null)"
    body = answer.json()
    assert body["predictions"] == [str(p) for p in pipeline.predict(X)]
    np.testing.assert_allclose(body["probabilities"], pipeline.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("change, fragment", [
    (lambda row: row[:-1], "expects"),
    (lambda row: [float("nan")] + row[1:], "not a finite number"),
    (lambda row: ["lots"] + row[1:], "expected a number"),
])
def test_bad_rows_get_a_clear_422(served_run, monkeypatch, change, fragment):
    run_id, base, home = served_run
    _pipeline, X = _test_rows(run_id, home, monkeypatch, n=2)
    health = httpx.get(f"{base}/health").json()
    first_numeric = X.columns.get_loc(next(c for c in health["features"] if X[c].dtype.kind == "f"))
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in X.to_numpy().tolist()]
    row = rows[1]
    row = row[first_numeric:] + row[:first_numeric]           # put a numeric feature first for the edit
    edited = change(row)
    edited = edited[len(row) - first_numeric:] + edited[:len(row) - first_numeric] if len(edited) == len(row) else edited
    answer = httpx.post(f"{base}/predict", content=_json([rows[0], edited]), headers={"content-type": "application/json"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert fragment in detail and ("Row 1" in detail)


def test_empty_and_malformed_bodies(served_run):
    _run_id, base, _home = served_run
    empty = httpx.post(f"{base}/predict", json={"instances": []})
    assert empty.status_code == 422 and "at least one row" in empty.json()["detail"]
    assert httpx.post(f"{base}/predict", json={"rows": [[1, 2]]}).status_code == 422


def _json(rows) -> str:
    import json
    return json.dumps({"instances": rows})       # allow_nan=True: sends NaN as JSON's common extension


def test_serve_cli_rejects_unknown_variant(served_run):
    run_id, _base, home = served_run
    env = {**os.environ, "MODELDECK_HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "core", "serve", "--run", run_id, "--variant", "nope", "--port",
                          str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Variant 'nope'" in out.stderr
