"""Core: preprocessing without leakage, training, leaderboard, runs and the CLI."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from core.data import load_builtin
from core.common import ModelDeckError
from core.models import FAMILIES, ModelSpec, make_estimator
from core.data import IQRClipper, PrepOptions, build_preprocessor, preview_cleaning, profile, split_dataset
from core.runs import RunStore, save_trained
from core.train import build_pipeline, leaderboard_table, plain_line, train_many, train_model


@pytest.fixture(scope="module")
def cancer():
    return load_builtin("breast_cancer")


@pytest.fixture(scope="module")
def churn():
    return load_builtin("churn")


def test_preprocessor_is_fitted_on_training_rows_only(cancer):
    prep = PrepOptions(scaling="standard")
    split = split_dataset(cancer, prep)
    pre = build_preprocessor(cancer, prep).fit(split.X_train)
    scaler = pre.named_transformers_["num"].named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, split.X_train[cancer.numeric_features].mean().to_numpy())
    full_mean = cancer.X[cancer.numeric_features].mean().to_numpy()
    assert not np.allclose(scaler.mean_, full_mean)


def test_split_is_stratified_seeded_and_disjoint(cancer):
    a = split_dataset(cancer, PrepOptions(seed=1))
    b = split_dataset(cancer, PrepOptions(seed=1))
    c = split_dataset(cancer, PrepOptions(seed=2))
    assert a.stratified and list(a.X_test.index) == list(b.X_test.index) != list(c.X_test.index)
    assert set(a.X_train.index).isdisjoint(a.X_test.index)
    share = lambda y: (y == "malignant").mean()  # noqa: E731
    assert abs(share(a.y_train) - share(a.y_test)) < 0.02


def test_iqr_clipper_uses_training_quartiles():
    train = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    clipper = IQRClipper().fit(train)
    q1, q3 = np.percentile(train, [25, 75])
    assert clipper.upper_[0] == pytest.approx(q3 + 1.5 * (q3 - q1))
    assert clipper.transform(np.array([[1000.0]]))[0, 0] == pytest.approx(clipper.upper_[0])


def test_cleaning_preview_on_churn_fills_and_drops(churn):
    preview = preview_cleaning(churn, PrepOptions(drop_duplicates=True, impute_numeric="median", clip_outliers=True))
    assert preview.rows_before - preview.rows_after == churn.frame.duplicated().sum() > 0
    assert preview.missing_before > 0 and preview.missing_after == 0
    assert preview.clipped_cells >= 0 and "duplicate" in preview.sentence()
    prof = profile(churn)
    assert prof.n_duplicates > 0 and prof.missing.sum() > 0 and "rows" in prof.headline(churn)


def test_missing_values_without_imputation_give_a_clear_message(churn):
    with pytest.raises(ModelDeckError, match="missing values"):
        train_model(churn, ModelSpec.create("linear"), PrepOptions(impute_numeric="none"), cv_folds=0)
    # gradient boosting handles missing numbers natively
    model = train_model(churn, ModelSpec.create("hist_gb", max_iter=30), PrepOptions(impute_numeric="none"), cv_folds=0)
    assert model.report.test["accuracy"] > 0.7


def test_trained_scores_match_sklearn_on_the_same_split(cancer):
    prep = PrepOptions()
    model = train_model(cancer, ModelSpec.create("linear"), prep, cv_folds=3)
    split = split_dataset(cancer, prep)
    assert model.report.test["accuracy"] == pytest.approx(accuracy_score(split.y_test, model.pipeline.predict(split.X_test)))
    assert model.report.test["accuracy"] > 0.95
    assert set(model.report.cv) >= {"accuracy", "roc_auc"} and model.size_bytes > 0 and model.predict_ms_per_row > 0


def test_regression_pipeline(tmp_path):
    diabetes = load_builtin("diabetes")
    model = train_model(diabetes, ModelSpec.create("linear"), PrepOptions(), cv_folds=0)
    split = split_dataset(diabetes, PrepOptions())
    assert model.report.test["r2"] == pytest.approx(r2_score(split.y_test, model.pipeline.predict(split.X_test)))
    assert "off by" in plain_line(model.report)


def test_leaderboard_sorted_with_plain_lines(cancer):
    specs = [ModelSpec.create(f) for f in ("linear", "knn", "random_forest")]
    models = train_many(cancer, specs, PrepOptions(), cv_folds=3)
    table = leaderboard_table(models, "accuracy")
    # issue 11: ranked by cross-validation on the training rows; a test score only for the chosen model
    assert list(table["cv_mean"]) == sorted(table["cv_mean"], reverse=True)
    assert table["chosen"].tolist() == [True, False, False] and table["test"].notna().tolist() == [True, False, False]
    assert table["cv_std"].notna().all() and (table["size_kb"] > 0).all()
    assert all(line.startswith("catches") for line in table["in_plain_words"])


def test_every_family_trains_on_churn(churn):
    for key in FAMILIES:
        params = {"epochs": 5} if key == "mlp" else {}
        model = train_model(churn, ModelSpec.create(key, **params), PrepOptions(), cv_folds=0)
        assert 0.5 < model.report.test["accuracy"] <= 1.0, key


def test_spec_validation_messages():
    with pytest.raises(ModelDeckError, match="Unknown model"):
        ModelSpec.create("xgboost")
    with pytest.raises(ModelDeckError, match="Hidden layers"):
        ModelSpec.create("mlp", hidden="64, many")
    with pytest.raises(ModelDeckError, match="outside"):
        ModelSpec.create("knn", n_neighbors=0)
    spec = ModelSpec.create("mlp", hidden="32,16")
    assert spec.params["hidden"] == (32, 16) and ModelSpec.from_json(spec.to_json()) == spec


def test_an_mlp_spec_saved_before_validation_fraction_was_a_setting_trains_as_it_did():
    """New MLP specs stop on the training loss like scikit-learn (validation_fraction 0); a stored spec without the
    setting kept the estimator's 10% validation split, and reads back with it."""
    import json

    new = ModelSpec.create("mlp")
    assert new.params["validation_fraction"] == 0.0
    stored = json.loads(new.to_json())
    del stored["params"]["validation_fraction"]
    old = ModelSpec.from_json(json.dumps(stored))
    assert old.params["validation_fraction"] == 0.1
    assert make_estimator(old, "classification").get_params()["validation_fraction"] == 0.1


def test_run_store_round_trip(cancer, fresh_home):
    store = RunStore()
    model = train_model(cancer, ModelSpec.create("random_forest", n_estimators=20), PrepOptions(), cv_folds=0)
    run = save_trained(store, model, cancer.name)
    assert run.status == "done" and run.metrics["test"]["accuracy"] == pytest.approx(model.report.test["accuracy"])
    reopened = RunStore().get(run.id)       # a new store object, as after a restart
    loaded = store.load_model(run.id)
    np.testing.assert_array_equal(loaded.predict(cancer.X), model.pipeline.predict(cancer.X))
    preds = store.load_predictions(run.id)
    np.testing.assert_allclose(preds["test"].proba, model.test_pred.proba)
    store.rename(run.id, "my forest")
    assert store.get(run.id).name == "my forest" and reopened.id == run.id
    with pytest.raises(ModelDeckError):
        store.rename(run.id, "  ")
    store.delete(run.id)
    with pytest.raises(ModelDeckError, match="not found"):
        store.get(run.id)
    assert not (fresh_home / "runs" / run.id).exists()


def test_boosting_reads_categories_as_codes_and_its_run_reopens(churn, fresh_home):
    """Issue 14: gradient boosting gets one code column per category column, first, marked as categories; the
    saved run reopens (OrdinalEncoder among the recorded types) and predicts the same; other families, SMOTE and runs
    stored before the setting existed keep one-hot columns."""
    spec = ModelSpec.create("hist_gb", max_iter=20)
    model = train_model(churn, spec, PrepOptions(), cv_folds=0)
    prep, inner = model.pipeline.named_steps["prep"], model.pipeline.named_steps["model"]
    name, _, columns = prep.transformers_[0]
    assert name == "cat_native" and columns == ["contract", "payment_method", "internet_service", "region",
                                                "paperless_billing"]
    assert inner.categorical_features == [0, 1, 2, 3, 4] and inner.is_categorical_.sum() == 5
    assert prep.transform(churn.X.iloc[:50]).shape[1] == inner.n_features_in_ == 11
    run = save_trained(RunStore(), model, churn.name)
    loaded = RunStore().load_model(run.id)
    np.testing.assert_allclose(loaded.predict_proba(churn.X), model.pipeline.predict_proba(churn.X))
    legacy = PrepOptions.from_dict({"seed": 0})
    assert legacy.native_categories is False
    old = train_model(churn, spec, legacy, cv_folds=0).pipeline
    assert "cat_native" not in old.named_steps["prep"].named_transformers_
    assert old.named_steps["model"].categorical_features == "from_dtype"
    for other, prep in (("random_forest", PrepOptions()), ("hist_gb", PrepOptions(resample="smote"))):
        cleaning = build_pipeline(churn, ModelSpec.create(other), prep).named_steps["prep"]
        assert [t[0] for t in cleaning.transformers] == ["num", "cat"], other    # SMOTE would invent codes


def test_failed_job_is_marked_failed_not_half_written(fresh_home):
    from core.train import run_job
    store = RunStore()
    run = store.create(name="broken", dataset_key="upload:doesnotexist", dataset_name="gone", task="classification",
                       spec_json=ModelSpec.create("linear").to_json(), prep=PrepOptions().to_dict())
    result = run_job(run.id)
    assert result.status == "failed" and result.error
    assert result.metrics is None


def test_background_job_trains_and_finishes(cancer, fresh_home):
    from core.train import queue_run, run_job
    store = RunStore()
    run = queue_run(store, cancer, ModelSpec.create("linear"), PrepOptions())
    assert store.get(run.id).status == "queued"
    done = run_job(run.id, cv_folds=2)
    assert done.status == "done" and done.progress == 1.0 and done.metrics["test"]["accuracy"] > 0.9


def test_cli_train_saves_a_run(fresh_home):
    env = {"MODELDECK_HOME": str(fresh_home), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "iris", "--model", "linear", "--cv", "2",
                          "--quiet"], capture_output=True, text=True, env=env, check=True)
    assert "accuracy" in out.stdout and "run " in out.stdout
    runs = RunStore().list()
    assert len(runs) == 1 and runs[0].dataset_key == "builtin:iris" and runs[0].status == "done"
    bad = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "nope"], capture_output=True, text=True,
                         env=env)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
