"""Predictions on new rows (issue 16): the schema check and its messages, predictions equal to the run's pipeline,
reasons from SHAP, the safe CSV download, the `predict` command and the server's batch endpoints."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.common import ModelDeckError
from core.data import PrepOptions, load_dataset, read_csv, split_dataset
from core.models import ModelSpec
from core.predict import (build_contract, check_schema, explain_reasons, neutralise, predict_batch, reason_engine,
                          safe_frame, to_safe_csv)
from core.train import train_model

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "data" / "churn.csv"


@pytest.fixture(scope="module")
def churn():
    """A gradient-boosting churn model, its training rows and contract, and raw new rows (the file without target)."""
    dataset = load_dataset("builtin:churn")
    trained = train_model(dataset, ModelSpec.create("hist_gb", max_iter=40), cv_folds=0)
    split = split_dataset(dataset, PrepOptions())
    contract = build_contract(trained.pipeline, split.X_train, dataset.target, dataset.task)
    raw = pd.read_csv(CHURN).drop(columns=["churned"]).iloc[:60].reset_index(drop=True)
    return trained.pipeline, split, contract, raw


def _kinds(check) -> dict[str, list]:
    out = {}
    for p in check.problems:
        out.setdefault(p.kind, []).append(p)
    return out


# ---------------------------------------------------------------- the schema check, case by case
def test_clean_rows_pass_with_only_the_unused_columns_noted(churn):
    _pipeline, _split, contract, raw = churn
    check = check_schema(raw, contract)
    assert check.ok and check.predictable.all() and check.renamed == {}
    kinds = _kinds(check)
    assert {p.column for p in kinds["extra"]} == {"customer_id", "signup_date"}
    assert set(kinds) <= {"extra", "empty_cells"}          # churn.csv has missing total_charges / age / internet
    assert list(check.X.columns) == contract.features


def test_missing_column_blocks_with_its_name(churn):
    _pipeline, _split, contract, raw = churn
    check = check_schema(raw.drop(columns=["contract"]), contract)
    assert not check.ok
    [problem] = [p for p in check.problems if p.blocking]
    assert problem.kind == "missing" and problem.column == "contract"
    assert problem.message.startswith("Column 'contract' is missing") and "'month-to-month'" in problem.message
    with pytest.raises(ModelDeckError, match="Column 'contract' is missing"):
        check.raise_if_blocked()


def test_many_missing_columns_are_named_in_one_message(churn):
    _pipeline, _split, contract, raw = churn
    check = check_schema(raw[["customer_id", "age", "region"]], contract)
    [message] = check.blocking_messages()
    assert message.startswith("9 columns the model needs are missing:") and "'tenure_months'" in message


def test_extra_column_and_target_are_ignored_and_kept(churn):
    _pipeline, _split, contract, raw = churn
    frame = raw.assign(notes="call back", churned="no")
    check = check_schema(frame, contract)
    assert check.ok
    extra = next(p for p in check.problems if p.column == "notes")
    assert extra.kind == "extra" and extra.message == ("Column 'notes' is not used by the model; it is ignored for "
                                                       "the prediction and kept in the download.")
    target = next(p for p in check.problems if p.column == "churned")
    assert target.kind == "target" and "what the model predicts" in target.message
    assert "notes" in check.uploaded.columns and "notes" not in check.X.columns


def test_wrong_type_blocks_when_most_cells_are_wrong(churn):
    _pipeline, _split, contract, raw = churn
    frame = raw.assign(age="forty")
    check = check_schema(frame, contract)
    problem = next(p for p in check.problems if p.blocking)
    assert problem.kind == "wrong_type" and problem.column == "age"
    assert problem.message.startswith("Column 'age' should hold numbers, but 60 of its 60 filled cells are not "
                                      "numbers (e.g. 'forty')")


def test_a_few_wrong_cells_count_as_empty_and_are_filled(churn):
    _pipeline, _split, contract, raw = churn
    frame = raw.assign(age=raw["age"].astype(object), monthly_charges=raw["monthly_charges"].map(lambda v: f"${v:,}"))
    frame.loc[[1, 2], "age"] = ["forty", "n/a"]
    check = check_schema(frame, contract)
    assert check.ok and check.predictable.all()
    wrong = next(p for p in check.problems if p.kind == "wrong_type")
    assert wrong.message == "2 cell(s) of 'age' are not numbers ('forty', 'n/a'); they are treated as empty."
    assert np.isnan(check.X.loc[1, "age"]) and check.X["monthly_charges"].tolist() == raw["monthly_charges"].tolist()
    filled = next(p for p in check.problems if p.kind == "empty_cells" and p.column == "age")
    assert f"filled with {contract.fills['age']:,.0f} (the training median)" in filled.message


def test_unseen_category_is_named_with_its_rows(churn):
    _pipeline, _split, contract, raw = churn
    frame = raw.copy()
    frame.loc[[3, 7], "contract"] = "three-year"
    frame.loc[4, "contract"] = "Month-To-Month"
    check = check_schema(frame, contract)
    assert check.ok
    unseen = next(p for p in check.problems if p.kind == "unseen")
    assert unseen.message.startswith("'contract' has value(s) the model never saw in training: 'three-year' (2 rows).")
    assert unseen.level == "warning" and unseen.rows == 2
    assert "never seen in training" in check.row_notes[3] and check.row_notes[0] == ""
    assert check.X.loc[4, "contract"] == "month-to-month"           # case differences are read as the known one


def test_a_renamed_column_is_recognised_by_name_and_values(churn):
    _pipeline, _split, contract, raw = churn
    frame = raw.rename(columns={"monthly_charges": "Monthly Charges", "tenure_months": "tenure", "region": "area"})
    check = check_schema(frame, contract)
    assert check.ok, check.blocking_message()
    assert check.renamed == {"Monthly Charges": "monthly_charges", "tenure": "tenure_months", "area": "region"}
    assert check.X["region"].tolist() == raw["region"].tolist()


def test_empty_file_header_only_and_no_rows(churn):
    _pipeline, _split, contract, raw = churn
    with pytest.raises(ModelDeckError, match="'new.csv' is empty"):
        read_csv(b"", "new.csv")
    header = ",".join(raw.columns).encode()
    with pytest.raises(ModelDeckError, match="has column names .* but no data rows"):
        read_csv(header + b"\n", "new.csv")
    with pytest.raises(ModelDeckError, match="The file has no data rows"):
        check_schema(raw.iloc[:0], contract)


def test_values_outside_the_training_range_are_predicted_with_a_warning(churn):
    _pipeline, _split, contract, raw = churn
    frame = raw.copy()
    frame.loc[0, "tenure_months"] = 500
    check = check_schema(frame, contract)
    problem = next(p for p in check.problems if p.kind == "out_of_range")
    assert check.ok and problem.column == "tenure_months" and "1 above the highest value seen in training (72)" in \
        problem.message
    assert "outside the training range" in check.row_notes[0]


def test_rows_a_model_cannot_fill_get_no_prediction():
    dataset = load_dataset("builtin:breast_cancer")
    prep = PrepOptions(impute_numeric="none")
    trained = train_model(dataset, ModelSpec.create("linear"), prep, cv_folds=0)
    split = split_dataset(dataset, prep)
    contract = build_contract(trained.pipeline, split.X_train, dataset.target, dataset.task)
    assert not contract.fills_numbers
    frame = split.X_test.iloc[:5].reset_index(drop=True)
    frame.loc[2, frame.columns[0]] = np.nan
    check = check_schema(frame, contract)
    assert check.ok and check.predictable.tolist() == [True, True, False, True, True]
    result = predict_batch(trained.pipeline, check, contract)
    assert result.labels[2] == "" and np.isnan(result.proba[2]).all() and "no prediction" in result.table["note"][2]
    np.testing.assert_allclose(result.proba[[0, 1, 3, 4]], trained.pipeline.predict_proba(frame.drop(index=2)))


# ---------------------------------------------------------------- predictions and reasons
def test_predictions_equal_the_pipelines_own(churn):
    pipeline, split, contract, raw = churn
    check = check_schema(raw, contract)
    result = predict_batch(pipeline, check, contract)
    np.testing.assert_array_equal(result.proba, pipeline.predict_proba(check.X))
    assert result.labels.tolist() == [str(v) for v in pipeline.predict(check.X)]
    assert result.table["probability of 'yes'"].tolist() == pipeline.predict_proba(check.X)[:, 1].tolist()
    assert result.table["customer_id"].tolist() == raw["customer_id"].tolist()      # the uploaded columns stay
    counts = pd.Series(result.labels).value_counts()
    assert result.summary("customers").startswith(f"All 60 customers predicted: {counts.iloc[0]:,} ")


def test_reasons_name_the_strongest_shap_values(churn):
    pipeline, split, contract, raw = churn
    check = check_schema(raw.iloc[:12], contract)
    engine = reason_engine(pipeline, split.X_train, contract.task, contract.target)
    result = predict_batch(pipeline, check, contract, engine=engine, X_train=split.X_train, plural="customers")
    assert result.reasons_method == "Tree SHAP (exact)" and result.reasons_rows == 12
    values = engine.explain(check.X).values[:, :, 0]          # log-odds of 'yes' per transformed column
    from core.explain import feature_map
    columns = feature_map(pipeline.named_steps["prep"])
    grouped = columns.group(values[:, :, None])[:, :, 0]
    for i in range(12):
        order = np.argsort(-np.abs(grouped[i]))
        for rank in range(3):
            column = columns.columns[order[rank]]
            words = result.table[f"reason {rank + 1}"][i]
            assert words.startswith(f"{column} "), (i, rank, words)
            assert ("toward 'yes'" if grouped[i, order[rank]] > 0 else "away from 'yes'") in words
    first = result.table["reason 1"][0]
    assert "of customers" in first and "log-odds" in first
    assert explain_reasons(engine, check.X.iloc[:2], split.X_train, contract, "customers")[0][0] == first


def test_regression_reasons_speak_of_the_value():
    dataset = load_dataset("builtin:diabetes")
    trained = train_model(dataset, ModelSpec.create("linear"), cv_folds=0)
    split = split_dataset(dataset, PrepOptions())
    contract = build_contract(trained.pipeline, split.X_train, dataset.target, dataset.task)
    check = check_schema(split.X_test.iloc[:5], contract)
    engine = reason_engine(trained.pipeline, split.X_train, contract.task, contract.target)
    result = predict_batch(trained.pipeline, check, contract, engine=engine, X_train=split.X_train)
    np.testing.assert_allclose(result.labels.astype(float), trained.pipeline.predict(split.X_test.iloc[:5]))
    assert result.proba is None and f"predicted {dataset.target}" in result.prediction_columns
    assert all(("raised the predicted" in w or "lowered the predicted" in w) for w in result.table["reason 1"])


# ---------------------------------------------------------------- the download
@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tnote", "\r=1"])
def test_formula_cells_are_neutralised(text):
    assert neutralise(text) == "'" + text
    frame = pd.DataFrame({"comment": [text, "fine"], "value": [-2.5, 3.0], text: [1, 2]})
    safe = safe_frame(frame)
    assert safe["comment"].tolist() == ["'" + text, "fine"] and safe["value"].tolist() == [-2.5, 3.0]
    assert safe.columns[-1] == "'" + text
    rows = list(csv.reader(io.StringIO(to_safe_csv(frame).decode("utf-8-sig"), newline="")))
    assert len(rows) == 3 and [r[0] for r in rows[1:]] == ["'" + text, "fine"]     # a CR never splits a row
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row[:1] + row[2:])
    assert [float(r[1]) for r in rows[1:]] == [-2.5, 3.0]


def test_plain_values_are_left_alone():
    assert [neutralise(v) for v in ("churn", "a-b", "", 5, -3.0, None)] == ["churn", "a-b", "", 5, -3.0, None]


# ---------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A churn random forest trained and saved by `python -m core train` in a private store."""
    import os
    home = tmp_path_factory.mktemp("predict-home")
    env = {**os.environ, "MODELDECK_HOME": str(home)}
    env.pop("MODELDECK_DB_URL", None)
    done = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "churn", "--model", "random_forest",
                           "--param", "n_estimators=20", "--param", "max_depth=6", "--cv", "0", "--quiet"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    run_id = next(line.split("?run=")[1] for line in done.stdout.splitlines() if "?run=" in line).strip()
    return run_id, home, env


def _messy_file(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(CHURN).drop(columns=["churned"]).iloc[100:140].reset_index(drop=True)
    raw = raw.rename(columns={"monthly_charges": "Monthly Charges"})
    raw.loc[2, "contract"] = "three-year"
    raw["comment"] = ["=1+1" if i == 0 else "" for i in range(len(raw))]
    raw.to_csv(path, index=False)
    return raw


def test_predict_command_writes_safe_predictions(saved_run, tmp_path, monkeypatch):
    run_id, home, env = saved_run
    raw = _messy_file(tmp_path / "new.csv")
    out = tmp_path / "out.csv"
    done = subprocess.run([sys.executable, "-m", "core", "predict", "--run", run_id, "--csv", str(tmp_path / "new.csv"),
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "read as 'monthly_charges'" in done.stdout and "'three-year' (1 row)" in done.stdout
    assert "All 40 customers predicted" in done.stdout
    written = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert written["comment"][0] == "'=1+1" and written["customer_id"].tolist() == raw["customer_id"].tolist()
    monkeypatch.setenv("MODELDECK_HOME", str(home))
    from core.predict import load_run_model
    model = load_run_model(run_id)
    check = check_schema(raw, model.contract)
    np.testing.assert_allclose(written[["probability of 'no'", "probability of 'yes'"]].to_numpy(float),
                               model.pipeline.predict_proba(check.X), rtol=0, atol=1e-12)
    assert all(written["reason 1"].str.len() > 10)


def test_predict_command_stops_on_a_missing_column(saved_run, tmp_path):
    run_id, _home, env = saved_run
    raw = _messy_file(tmp_path / "new.csv").drop(columns=["contract"])
    raw.to_csv(tmp_path / "bad.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "core", "predict", "--run", run_id, "--csv", str(tmp_path / "bad.csv"),
                           "--out", str(tmp_path / "out.csv"), "--no-reasons"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "error: Column 'contract' is missing" in done.stderr
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------- the server's batch endpoints
@pytest.fixture(scope="module")
def client(saved_run):
    import os
    run_id, home, _env = saved_run
    old = os.environ.get("MODELDECK_HOME")
    os.environ["MODELDECK_HOME"] = str(home)
    try:
        from fastapi.testclient import TestClient

        from core.compress import create_app, load_served
        served = load_served(run_id)
        yield TestClient(create_app(served)), served
    finally:
        if old is None:
            os.environ.pop("MODELDECK_HOME", None)
        else:
            os.environ["MODELDECK_HOME"] = old


def test_server_batch_runs_the_same_schema_check(client, tmp_path):
    http, served = client
    raw = _messy_file(tmp_path / "new.csv")
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in raw.to_dict(orient="records")]
    answer = http.post("/predict/batch", json={"rows": rows, "reasons": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    check = check_schema(raw, served.run_model.contract)
    assert [p["message"] for p in body["problems"]] == [p.message for p in check.problems]
    expected = served.run_model.pipeline.predict_proba(check.X)
    np.testing.assert_allclose(body["probabilities"], expected, atol=1e-4)          # ONNX Runtime, float32
    assert body["classes"] == ["no", "yes"] and len(body["reasons"][0]) == 3
    as_csv = http.post("/predict/csv", content=(tmp_path / "new.csv").read_bytes(),
                       headers={"content-type": "text/csv"}).json()
    assert as_csv["predictions"] == body["predictions"] and "reasons" not in as_csv


def test_server_batch_refuses_a_missing_column_with_every_problem(client, tmp_path):
    http, _served = client
    raw = _messy_file(tmp_path / "new.csv").drop(columns=["contract", "age"])
    answer = http.post("/predict/csv", content=raw.to_csv(index=False).encode(), headers={"content-type": "text/csv"})
    assert answer.status_code == 422
    body = answer.json()
    assert "Column 'contract' is missing" in body["detail"] and "Column 'age' is missing" in body["detail"]
    assert {p["column"] for p in body["problems"] if p["level"] == "error"} == {"contract", "age"}
    empty = http.post("/predict/csv", content=b"", headers={"content-type": "text/csv"})
    assert empty.status_code == 422 and "is empty" in empty.json()["detail"]
