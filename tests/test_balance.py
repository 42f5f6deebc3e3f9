"""Issue 11: imbalanced classes — imbalanced-learn samplers inside an imblearn pipeline, so only training folds are
resampled; offered on the Data page when the advisor sees imbalance, with before / after side by side."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import PrepOptions, load_builtin, split_dataset
from core.models import ModelSpec
from core.train import balancing_sentence, build_pipeline, compare_balancing, train_model


@pytest.fixture(scope="module")
def churn():
    return load_builtin("churn")


def test_the_sampler_touches_fitted_rows_only(churn):
    prep = PrepOptions(resample="random_over")
    pipeline = build_pipeline(churn, ModelSpec.create("linear"), prep)
    assert type(pipeline).__module__.startswith("imblearn") and list(pipeline.named_steps) == ["prep", "resample",
                                                                                                "model"]
    split = split_dataset(churn, prep)
    seen = {}
    model = pipeline.named_steps["model"]
    original_fit = model.fit
    model.fit = lambda X, y, **kw: (seen.setdefault("y", pd.Series(y).value_counts()), original_fit(X, y, **kw))[1]
    pipeline.fit(split.X_train, split.y_train)
    counts = split.y_train.value_counts()
    assert seen["y"]["yes"] == seen["y"]["no"] == counts.max() > counts.min()    # the model saw balanced rows
    assert len(pipeline.predict(split.X_test)) == len(split.X_test)              # predicting resamples nothing
    # regression has nothing to balance: the option is ignored
    diabetes = load_builtin("diabetes")
    assert list(build_pipeline(diabetes, ModelSpec.create("linear"), prep).named_steps) == ["prep", "model"]


def test_compare_shows_before_and_after_side_by_side(churn):
    table = compare_balancing(churn, ModelSpec.create("linear"), PrepOptions(), folds=3)
    assert list(table["method"]) == ["none", "random_over", "smote"]
    before, after = table["training rows by class"].iloc[0], table["training rows by class"].iloc[2]
    assert before["no"] > before["yes"] and after["no"] == after["yes"] == before["no"]
    assert table["recall of 'yes'"].iloc[1] > table["recall of 'yes'"].iloc[0] + 0.1
    assert table["balanced_accuracy"].iloc[2] > table["balanced_accuracy"].iloc[0]
    assert "raises the cross-validated balanced accuracy" in balancing_sentence(table)


def test_a_resampled_run_saves_and_reopens(churn, fresh_home):
    from core.runs import RunStore, save_trained
    model = train_model(churn, ModelSpec.create("linear"), PrepOptions(resample="smote"), cv_folds=2)
    run = save_trained(RunStore(), model, churn.name)
    again = RunStore().load_model(run.id)
    split = split_dataset(churn, PrepOptions.from_dict(run.prep))
    np.testing.assert_array_equal(again.predict(split.X_test), model.pipeline.predict(split.X_test))
    assert run.prep["resample"] == "smote" and PrepOptions.from_dict({}).resample == "none"


def test_the_data_page_offers_it_when_classes_are_imbalanced(fresh_home):
    from tests.test_pages import button, open_page
    at = open_page("pages/data.py", data="builtin:churn")
    assert not at.exception
    assert any(s.key == "prep_resample" for s in at.selectbox)
    button(at, "balance_go").click().run()
    assert not at.exception and not at.error
    assert any("resampled" in c.value or "does not help" in c.value for c in at.caption)
    assert any("balanced accuracy (CV)" in str(d.value.columns.tolist()) or "balanced_accuracy" in d.value.columns
               for d in at.dataframe)
    iris = open_page("pages/data.py", data="builtin:iris")                       # balanced classes: not offered
    assert not any(s.key == "prep_resample" for s in iris.selectbox)
