"""The Predict page through AppTest: no run yet, a messy file predicted with reasons and drift, a file that cannot be
predicted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import load_dataset
from core.models import ModelSpec
from core.runs import RunStore, save_trained
from core.train import train_model
from tests.test_pages import assert_clean, open_page

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
CHURN = Path(__file__).resolve().parents[1] / "data" / "churn.csv"


def _churn_run():
    dataset = load_dataset("builtin:churn")
    trained = train_model(dataset, ModelSpec.create("hist_gb", max_iter=40), cv_folds=0)
    return save_trained(RunStore(), trained, dataset.name), trained.pipeline


def _messy() -> pd.DataFrame:
    """Rows of the churn file without the target, one renamed column, one unseen category, a formula cell."""
    raw = pd.read_csv(CHURN).drop(columns=["churned"]).iloc[2000:2080].reset_index(drop=True)
    raw = raw.rename(columns={"tenure_months": "Tenure (months)"})
    raw.loc[[3, 9], "contract"] = "three-year"
    raw["comment"] = ["=HYPERLINK(\"http://x\")" if i == 0 else "" for i in range(len(raw))]
    return raw


def _upload(at, frame: pd.DataFrame, name: str = "new.csv"):
    at.file_uploader[0].upload(name, frame.to_csv(index=False).encode(), "text/csv")
    return at.run()


def test_without_runs_the_page_says_what_to_do(fresh_home):
    at = open_page("pages/predict.py")
    assert_clean(at)
    assert any("No finished runs yet" in i.value for i in at.info) and not at.file_uploader


def test_a_messy_file_is_checked_predicted_explained_and_compared(fresh_home):
    run, pipeline = _churn_run()
    at = open_page("pages/predict.py", run=run.id)
    assert_clean(at)
    assert any("Upload a file" in i.value for i in at.info)
    raw = _messy()
    _upload(at, raw)
    assert_clean(at)
    assert any("'three-year' (2 rows)" in w.value for w in at.warning)
    handled = " ".join(m.value for m in at.markdown)
    assert "Column 'Tenure (months)' is not a name the model knows" in handled or \
        "'Tenure (months)' is read as 'tenure_months'" in handled
    table = next(d.value for d in at.dataframe if "probability of 'yes'" in d.value.columns)
    from core.predict import build_contract, check_schema
    from core.data import PrepOptions, split_dataset
    split = split_dataset(load_dataset("builtin:churn"), PrepOptions.from_dict(run.prep))
    check = check_schema(raw, build_contract(pipeline, split.X_train, "churned", "classification"))
    np.testing.assert_array_equal(table[["probability of 'no'", "probability of 'yes'"]].to_numpy(float),
                                  pipeline.predict_proba(check.X))
    assert table["reason 1"].str.len().min() > 10 and table["customer_id"].tolist() == raw["customer_id"].tolist()
    assert len(at.get("plotly_chart")) == 2                            # predictions + drift
    assert any(m.value.startswith("**All 80 customers predicted") for m in at.markdown)
    assert any(s.value == "Do these rows still look like the training rows?" for s in at.subheader)
    assert len(at.get("download_button")) == 2                          # the example file and the predictions
    from core.predict import load_drift_check
    assert load_drift_check(RunStore().folder(run.id)) is None
    next(b for b in at.button if b.key == "predict_record_drift").click().run()
    assert_clean(at)
    recorded = load_drift_check(RunStore().folder(run.id))
    assert recorded["n_new"] == 80 and recorded["source"] == "new.csv"


def test_turning_reasons_off_keeps_the_predictions(fresh_home):
    run, pipeline = _churn_run()
    at = open_page("pages/predict.py", run=run.id)
    _upload(at, _messy())
    next(t for t in at.toggle if t.key == "predict_reasons").set_value(False).run()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "probability of 'yes'" in d.value.columns)
    assert (table["reason 1"] == "").all() and table["predicted churned"].isin(["no", "yes"]).all()


def test_a_file_without_needed_columns_stops_with_the_reason(fresh_home):
    run, _pipeline = _churn_run()
    at = open_page("pages/predict.py", run=run.id)
    _upload(at, _messy().drop(columns=["contract"]))
    assert not at.exception
    assert [e.value for e in at.error][0].startswith("Column 'contract' is missing")
    assert not any("probability of 'yes'" in d.value.columns for d in at.dataframe)
    assert not at.get("plotly_chart")


def test_an_empty_file_gets_a_message_not_a_traceback(fresh_home):
    run, _pipeline = _churn_run()
    at = open_page("pages/predict.py", run=run.id)
    at.file_uploader[0].upload("empty.csv", b"", "text/csv")
    at.run()
    assert not at.exception and "'empty.csv' is empty" in at.error[0].value
