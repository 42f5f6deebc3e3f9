"""Issue 11: choices are made on cross-validation / out-of-fold predictions of the training rows; the test split is
scored once for the chosen model, with a bootstrap 95% interval."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from core.data import PrepOptions, make_dataset, split_dataset
from core.evaluate import (Economics, MetricReport, Predictions, at_threshold, best_f1_threshold, bootstrap_intervals,
                           chosen_profit, profit_curve)
from core.evaluate._intervals import resamples_for
from core.models import ModelSpec
from core.train import choose_best, leaderboard_sentence, leaderboard_table, train_many, train_model


def _shifted_regression():
    """Training rows follow y = x², the test rows are flat at its mean (4/3): cross-validation favours the forest,
    the test rows the linear model (which, unable to bend, predicts about 4/3 everywhere)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 400)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=400), "y": x ** 2 + rng.normal(scale=0.1, size=400)})
    dataset = make_dataset(frame, "y", task="regression", name="shifted")
    test_rows = split_dataset(dataset, PrepOptions()).X_test.index
    frame.loc[test_rows, "y"] = 4 / 3
    return make_dataset(frame, "y", task="regression", name="shifted")


def test_the_chosen_model_is_the_cross_validation_winner_even_when_the_test_disagrees():
    dataset = _shifted_regression()
    specs = [ModelSpec.create("linear"), ModelSpec.create("random_forest", n_estimators=30)]
    linear, forest = train_many(dataset, specs, PrepOptions(), cv_folds=3)
    assert forest.report.cv["mae"][0] < linear.report.cv["mae"][0]        # cross-validation: the forest
    assert linear.report.test["mae"] < forest.report.test["mae"]            # the test rows: the line (constructed)
    best, rule = choose_best([linear, forest], "mae")
    assert best is forest and "3-fold cross-validation" in rule and "lowest mean mae" in rule and "test" not in rule
    table = leaderboard_table([linear, forest], "mae")
    assert table.loc[0, "model"] == forest.title and table.loc[0, "chosen"]
    assert np.isnan(table.loc[1, "test"])                                   # the loser is never shown on test
    assert "measured once on 80 unseen rows" in leaderboard_sentence([linear, forest], "mae")


def test_choosing_without_cross_validation_is_refused():
    dataset = _shifted_regression()
    model = train_model(dataset, ModelSpec.create("linear"), PrepOptions(), cv_folds=0)
    with pytest.raises(Exception, match="cross-validat"):
        choose_best([model], "r2")


@pytest.fixture(scope="module")
def cancer_model():
    from core.data import load_builtin
    dataset = load_builtin("breast_cancer")
    return dataset, train_model(dataset, ModelSpec.create("linear"), PrepOptions(), cv_folds=5)


def test_out_of_fold_predictions_are_cross_val_predict(cancer_model):
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from core.train import build_pipeline
    dataset, model = cancer_model
    split = split_dataset(dataset, model.prep)
    folds = StratifiedKFold(5, shuffle=True, random_state=model.prep.seed)
    reference = cross_val_predict(build_pipeline(dataset, model.spec, model.prep), split.X_train, split.y_train,
                                  cv=folds, method="predict_proba")
    np.testing.assert_allclose(model.oof_pred.proba, reference, atol=1e-10)
    assert list(model.oof_pred.y_true) == list(split.y_train.astype(str))
    assert model.report.cv_folds == 5


def test_thresholds_come_from_out_of_fold_predictions(cancer_model):
    _, model = cancer_model
    pos = model.report.positive_label
    oof_score = model.oof_pred.proba[:, model.oof_pred.labels.index(pos)]
    chosen = best_f1_threshold(model.oof_pred.y_true, oof_score, pos)
    # the chosen threshold is the F1 maximum on the out-of-fold rows
    grid = np.round(np.linspace(0, 1, 101), 2)
    f1 = [skm.f1_score(model.oof_pred.y_true == pos, oof_score >= t) for t in grid]
    assert f1[list(grid).index(chosen)] == pytest.approx(max(f1))
    # the test rows are only scored at it, never searched
    test_score = model.test_pred.proba[:, model.test_pred.labels.index(pos)]
    econ = Economics(value_tp=100, cost_fp=40, cost_fn=10)
    choice = chosen_profit(model.oof_pred.y_true, oof_score, model.test_pred.y_true, test_score, pos, econ)
    oof_curve = profit_curve(model.oof_pred.y_true, oof_score, pos, econ)
    assert choice["threshold"] == oof_curve.loc[oof_curve["profit"].idxmax(), "threshold"]
    at = at_threshold(model.test_pred.y_true, test_score, pos, choice["threshold"])
    assert choice["test"]["tp"] == at["tp"] and choice["test"]["fp"] == at["fp"]
    assert choice["oof_rows"] == len(model.oof_pred)


def test_test_scores_carry_a_seeded_bootstrap_interval(cancer_model):
    _, model = cancer_model
    report = model.report
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"):
        low, high = report.test_ci[name]
        assert low <= report.test[name] <= high and high - low < 0.2
    again = bootstrap_intervals(model.test_pred, "classification", report.positive_label,
                                rng=np.random.default_rng(model.prep.seed))
    assert again == report.test_ci
    assert "measured once on 114 unseen rows" in report.test_label()
    assert re.search(r"\(bootstrap 95% interval [\d.]+%–[\d.]+%, 1,000 resamples\)\.$", report.test_label())
    assert MetricReport.from_dict(report.to_dict()).test_ci == report.test_ci
    big = replace(report, n_test=400_000)         # a large test set is resampled fewer times, and says so
    assert big.test_label().endswith(", 200 resamples).") and resamples_for(400_000) == 200


def test_bootstrap_metrics_equal_sklearn_on_each_resample():
    from core.evaluate._intervals import _classification_values, _regression_values, _weights
    rng = np.random.default_rng(3)
    n = 150
    y = rng.choice(["no", "yes"], n)
    score = np.clip(rng.random(n) + 0.3 * (y == "yes"), 0, 1).round(1)      # ties on purpose
    pred = Predictions(y, np.where(score >= 0.5, "yes", "no"), np.column_stack([1 - score, score]), ["no", "yes"])
    w = _weights(n, 15, rng)
    values = _classification_values(pred, w, "yes")
    yr, pr = rng.normal(size=n), rng.normal(size=n)
    reg = _regression_values(Predictions(yr, pr), w)
    for b in range(15):
        idx = np.repeat(np.arange(n), w[b])
        assert values["accuracy"][b] == pytest.approx(skm.accuracy_score(y[idx], pred.y_pred[idx]))
        assert values["balanced_accuracy"][b] == pytest.approx(skm.balanced_accuracy_score(y[idx], pred.y_pred[idx]))
        assert values["f1_macro"][b] == pytest.approx(skm.f1_score(y[idx], pred.y_pred[idx], average="macro"))
        assert values["roc_auc"][b] == pytest.approx(skm.roc_auc_score(y[idx] == "yes", score[idx]))
        assert reg["r2"][b] == pytest.approx(skm.r2_score(yr[idx], pr[idx]))
        assert reg["rmse"][b] == pytest.approx(skm.root_mean_squared_error(yr[idx], pr[idx]))


def test_reports_saved_before_intervals_still_load():
    old = {"task": "classification", "test": {"accuracy": 0.9}, "train": {"accuracy": 0.95}, "cv": {}, "n_test": 30}
    report = MetricReport.from_dict(old)
    assert report.test_ci == {} and report.interval_text() == "90.0%"
    assert "measured once on 30 unseen rows" in report.test_label()
