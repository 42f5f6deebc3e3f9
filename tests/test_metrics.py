"""core.metrics and core.charts: every number must equal scikit-learn's own function."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine, make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize
from sklearn.tree import DecisionTreeClassifier

from core.evaluate import charts as charts
from core.common import ModelDeckError
from core.evaluate import (
    MetricReport,
    Predictions,
    at_threshold,
    calibration_points,
    classification_scores,
    cross_validate_model,
    default_positive_label,
    evaluate,
    pr_points,
    predictions_from_model,
    regression_scores,
    roc_points,
    threshold_sweep,
)

APPROX = dict(rel=1e-12, abs=1e-12)


def _fit(model, X, y, stratify=True):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.2, random_state=42, stratify=y if stratify else None
    )
    model.fit(X_tr, y_tr)
    return model, X_tr, X_te, y_tr, y_te


@pytest.fixture(scope="module")
def binary():
    data = load_breast_cancer()
    y = np.asarray(data.target_names)[data.target]  # "malignant" / "benign"
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
    model, X_tr, X_te, y_tr, y_te = _fit(model, data.data, y)
    train = predictions_from_model(model, X_tr, y_tr, "classification")
    test = predictions_from_model(model, X_te, y_te, "classification")
    return dict(model=model, X=data.data, y=y, y_te=y_te, train=train, test=test,
                report=evaluate(train, test, "classification"))


@pytest.fixture(scope="module")
def multiclass():
    X, y = load_wine(return_X_y=True)  # integer labels 0, 1, 2
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model, X_tr, X_te, y_tr, y_te = _fit(model, X, y)
    train = predictions_from_model(model, X_tr, y_tr, "classification")
    test = predictions_from_model(model, X_te, y_te, "classification")
    return dict(model=model, X=X, y=y, X_te=X_te, y_te=y_te, train=train, test=test,
                report=evaluate(train, test, "classification"))


@pytest.fixture(scope="module")
def regression():
    X, y = load_diabetes(return_X_y=True)
    model, X_tr, X_te, y_tr, y_te = _fit(Ridge(alpha=0.1), X, y, stratify=False)
    train = predictions_from_model(model, X_tr, y_tr, "regression")
    test = predictions_from_model(model, X_te, y_te, "regression")
    return dict(model=model, X=X, y=y, y_te=y_te, train=train, test=test,
                report=evaluate(train, test, "regression"))


# ---------------------------------------------------------------------------- binary
def test_binary_scores_equal_sklearn(binary):
    test, y = binary["test"], binary["y_te"]
    pred, proba = test.y_pred, test.proba
    assert test.labels == ["benign", "malignant"]
    mal = proba[:, 1]
    scores = binary["report"].test
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, pos_label="malignant"),
        "recall": skm.recall_score(y, pred, pos_label="malignant"),
        "f1": skm.f1_score(y, pred, pos_label="malignant"),
        "roc_auc": skm.roc_auc_score(y == "malignant", mal),
        "average_precision": skm.average_precision_score(y, mal, pos_label="malignant"),
        "log_loss": skm.log_loss(y, proba, labels=binary["model"].classes_),
    }
    for avg in ("macro", "weighted"):
        for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
            expected[f"{name}_{avg}"] = fn(y, pred, average=avg, zero_division=0)
    assert set(expected) <= set(scores)
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, **APPROX), key
    # AUC does not depend on which class is called positive
    assert scores["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 0] * -1 + 1), **APPROX)


def test_binary_report_tables(binary):
    report, test, y = binary["report"], binary["test"], binary["y_te"]
    assert report.positive_label == "malignant"
    assert report.primary == "accuracy" and report.n_test == 114 and report.n_train == 455
    assert report.confusion == skm.confusion_matrix(y, test.y_pred, labels=report.labels).tolist()
    p, r, f, s = skm.precision_recall_fscore_support(y, test.y_pred, labels=report.labels, zero_division=0)
    for row, pi, ri, fi, si in zip(report.per_class, p, r, f, s):
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx((pi, ri, fi, si))


def test_binary_headline(binary):
    report = binary["report"]
    text = report.headline()
    assert "114 test rows" in text
    assert f"{100 * report.test['accuracy']:.1f}%" in text
    assert f"{round(100 * report.test['accuracy'])} times out of 100" in text
    assert "'malignant'" in text
    if report.test["precision"] == 1.0:
        assert "Every case it flags as 'malignant' really is one" in text
    else:
        assert f"{round(100 * report.test['precision'])} in 100 really are" in text
    assert f"misses {round(100 * (1 - report.test['recall']))} of every 100" in text


def test_binary_headline_wording_for_imperfect_and_perfect_models():
    y = np.array(["benign"] * 6 + ["malignant"] * 4)
    imperfect = np.array(["benign"] * 5 + ["malignant"] * 5)   # 1 false alarm, no miss
    pred = Predictions(y, imperfect, None, ["benign", "malignant"])
    text = evaluate(pred, pred, "classification", positive_label="malignant").headline()
    assert "of the cases it flags as 'malignant', 80 in 100 really are" in text.lower()
    assert "it misses none of the 'malignant' cases" in text


def test_curves_equal_sklearn(binary):
    test, y = binary["test"], binary["y_te"]
    mal = test.proba[:, 1]
    (label, (fpr, tpr, auc)), = roc_points(test).items()
    assert label == "malignant"
    exp_fpr, exp_tpr, _ = skm.roc_curve(y, mal, pos_label="malignant")
    np.testing.assert_allclose(fpr, exp_fpr)
    np.testing.assert_allclose(tpr, exp_tpr)
    assert auc == pytest.approx(skm.roc_auc_score(y == "malignant", mal), **APPROX)
    (_, (_, _, ap)), = pr_points(test).items()
    assert ap == pytest.approx(skm.average_precision_score(y == "malignant", mal), **APPROX)
    prob_true, prob_pred, counts = calibration_points(test, n_bins=10)
    exp_true, exp_pred = calibration_curve(y, mal, pos_label="malignant", n_bins=10)
    np.testing.assert_allclose(prob_true, exp_true)
    np.testing.assert_allclose(prob_pred, exp_pred)
    assert counts.sum() == len(y)


def test_threshold_sweep_equals_sklearn(binary):
    test, y = binary["test"], binary["y_te"]
    mal = test.proba[:, 1]
    sweep = threshold_sweep(y, mal, "malignant")
    assert list(sweep.columns) == ["threshold", "precision", "recall", "f1", "flagged_share", "tp", "fp", "fn", "tn"]
    assert len(sweep) == 101
    truth = y == "malignant"
    for t in (0.1, 0.3, 0.5, 0.8, 0.99):
        row = sweep.loc[np.isclose(sweep["threshold"], t)].iloc[0]
        flagged = mal >= t
        assert row["precision"] == pytest.approx(skm.precision_score(truth, flagged, zero_division=0))
        assert row["recall"] == pytest.approx(skm.recall_score(truth, flagged, zero_division=0))
        assert row["f1"] == pytest.approx(skm.f1_score(truth, flagged, zero_division=0))
        assert row["flagged_share"] == pytest.approx(flagged.mean())
        tn, fp, fn, tp = skm.confusion_matrix(truth, flagged, labels=[False, True]).ravel()
        assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (tp, fp, fn, tn)
        single = at_threshold(y, mal, "malignant", t)
        assert single["accuracy"] == pytest.approx(skm.accuracy_score(truth, flagged))
        for key in ("precision", "recall", "f1", "tp", "fp", "fn", "tn"):
            assert single[key] == pytest.approx(row[key]), key
    # at 0.5 the sweep reproduces the model's own predictions
    row = sweep.loc[np.isclose(sweep["threshold"], 0.5)].iloc[0]
    assert row["precision"] == pytest.approx(binary["report"].test["precision"])


# ---------------------------------------------------------------------------- multiclass
def test_multiclass_scores_equal_sklearn(multiclass):
    test, y, model = multiclass["test"], multiclass["y_te"], multiclass["model"]
    proba, pred = model.predict_proba(multiclass["X_te"]), model.predict(multiclass["X_te"])
    report = multiclass["report"]
    assert report.labels == ["0", "1", "2"] and report.positive_label is None
    s = report.test
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), **APPROX)
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred), **APPROX)
    assert s["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"), **APPROX)
    assert s["precision_weighted"] == pytest.approx(skm.precision_score(y, pred, average="weighted"), **APPROX)
    assert s["recall_macro"] == pytest.approx(skm.recall_score(y, pred, average="macro"), **APPROX)
    assert s["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"), **APPROX)
    assert s["average_precision"] == pytest.approx(
        skm.average_precision_score(label_binarize(y, classes=[0, 1, 2]), proba, average="macro"), **APPROX)
    assert s["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]), **APPROX)
    assert "precision" not in s  # only binary problems have a positive class
    assert report.confusion == skm.confusion_matrix(y, pred).tolist()
    assert set(roc_points(test)) == {"0", "1", "2"}
    for label, (_, _, auc) in roc_points(test).items():
        assert auc == pytest.approx(skm.roc_auc_score(y == int(label), proba[:, int(label)]), **APPROX)
    prob_true, prob_pred, counts = calibration_points(test)
    assert counts.sum() == len(y) and np.all((prob_true >= 0) & (prob_true <= 1))
    assert f"{len(y)} test rows" in report.headline()


def test_scores_without_proba_omit_probability_metrics():
    y = np.array(["a", "b", "a", "b", "a"])
    pred = np.array(["a", "b", "b", "b", "a"])
    scores = classification_scores(y, pred)
    assert scores["accuracy"] == pytest.approx(0.8)
    assert scores["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label="b"))
    assert not {"roc_auc", "average_precision", "log_loss"} & set(scores)


# ---------------------------------------------------------------------------- regression
def test_regression_scores_equal_sklearn(regression):
    report, y, pred = regression["report"], regression["y_te"], regression["test"].y_pred
    s = report.test
    assert s["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), **APPROX)
    assert s["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), **APPROX)
    assert s["r2"] == pytest.approx(skm.r2_score(y, pred), **APPROX)
    assert s["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, pred), **APPROX)
    assert "mape" not in regression_scores([0.0, 1.0, 2.0], [0.5, 1.0, 2.0])
    assert report.primary == "r2" and report.confusion is None and report.per_class == []
    text = report.headline()
    assert f"{report.n_test} test rows" in text
    assert f"{s['mae']:.1f} on average (MAE)" in text
    assert f"{100 * s['r2']:.0f}% of the variation" in text


# ---------------------------------------------------------------------------- report
def test_report_round_trip(binary, regression):
    for fixture in (binary, regression):
        cv = {"accuracy": (np.float64(0.9), np.float64(0.02))} if fixture is binary else {"r2": (0.4, 0.05)}
        report = MetricReport(**{**fixture["report"].__dict__, "cv": cv})
        text = json.dumps(report.to_dict())
        again = MetricReport.from_dict(json.loads(text))
        assert again == MetricReport.from_dict(report.to_dict())
        assert again.to_dict() == report.to_dict()
        assert all(isinstance(v, tuple) for v in again.cv.values())
        assert again.headline() == report.headline()
        assert again.test == report.test and again.confusion == report.confusion


def test_predictions_round_trip(binary):
    test = binary["test"]
    again = Predictions.from_dict(json.loads(json.dumps(test.to_dict())))
    assert again.labels == test.labels
    np.testing.assert_array_equal(again.y_true, test.y_true)
    np.testing.assert_allclose(again.proba, test.proba)


def test_overfitting_flag(binary):
    X, y = make_classification(n_samples=400, n_features=10, flip_y=0.3, random_state=0)
    tree, X_tr, X_te, y_tr, y_te = _fit(DecisionTreeClassifier(random_state=0), X, y)
    report = evaluate(predictions_from_model(tree, X_tr, y_tr, "classification"),
                      predictions_from_model(tree, X_te, y_te, "classification"), "classification")
    assert report.train["accuracy"] == 1.0
    assert report.gap() > 0.05 and report.overfitting()
    sentence = report.overfitting_sentence()
    assert "100.0% on data it trained on" in sentence
    assert f"{100 * report.test['accuracy']:.1f}% on new data" in sentence

    regularised = binary["report"]
    assert abs(regularised.gap()) < 0.05
    assert not regularised.overfitting() and regularised.overfitting_sentence() is None


def test_a_low_test_score_alone_is_not_called_memorising():
    """Cross-validation decides when present: a test split that landed low (inside its noise) is not overfitting,
    a training score far above cross-validation is; without cross-validation the test interval must exclude it."""
    from core.evaluate import MetricReport
    low_split = MetricReport(task="classification", train={"accuracy": 0.754}, test={"accuracy": 0.683},
                             cv={"accuracy": (0.748, 0.03)}, primary="accuracy", cv_folds=5)
    assert low_split.gap() > 0.05 and not low_split.overfitting() and low_split.overfitting_sentence() is None
    memorised = MetricReport(task="classification", train={"accuracy": 1.0}, test={"accuracy": 0.97},
                             cv={"accuracy": (0.80, 0.03)}, primary="accuracy", cv_folds=5)
    assert memorised.overfitting()
    assert "80.0% in 5-fold cross-validation" in memorised.overfitting_sentence()
    noisy = MetricReport(task="classification", train={"accuracy": 0.80}, test={"accuracy": 0.70},
                         test_ci={"accuracy": (0.60, 0.82)}, primary="accuracy")
    clear = MetricReport(task="classification", train={"accuracy": 0.99}, test={"accuracy": 0.70},
                         test_ci={"accuracy": (0.60, 0.80)}, primary="accuracy")
    assert not noisy.overfitting() and clear.overfitting()


def test_default_positive_label():
    assert default_positive_label(["benign", "malignant"]) == "malignant"
    assert default_positive_label(["No", "Yes"]) == "Yes"
    assert default_positive_label(["0", "1"]) == "1"
    assert default_positive_label(["stayed", "churned"]) == "churned"
    assert default_positive_label(["cat", "dog"]) == "dog"


# ---------------------------------------------------------------------------- cross-validation
def test_cross_validation_equals_cross_val_score(binary, regression):
    calls = []
    model, X, y = binary["model"], binary["X"], binary["y"]
    cv = cross_validate_model(model, X, y, "classification", folds=5, random_state=42,
                              progress=lambda f, m: calls.append((f, m)))
    folds = StratifiedKFold(5, shuffle=True, random_state=42)
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"):
        expected = cross_val_score(model, X, y, cv=folds, scoring=name)
        assert cv[name] == pytest.approx((expected.mean(), expected.std()), **APPROX), name
    assert [f for f, _ in calls] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert "fold 5 of 5" in calls[-1][1]

    model, X, y = regression["model"], regression["X"], regression["y"]
    cv = cross_validate_model(model, X, y, "regression", folds=5)
    folds = KFold(5, shuffle=True, random_state=42)
    for name, scoring, sign in (("r2", "r2", 1), ("mae", "neg_mean_absolute_error", -1),
                                ("rmse", "neg_root_mean_squared_error", -1)):
        expected = sign * cross_val_score(model, X, y, cv=folds, scoring=scoring)
        assert cv[name] == pytest.approx((expected.mean(), expected.std()), **APPROX), name
        assert cv[name][0] > 0


def test_cross_validation_reduces_folds_for_rare_class(multiclass):
    X, y = multiclass["X"], multiclass["y"]
    keep = np.r_[np.flatnonzero(y != 2), np.flatnonzero(y == 2)[:3]]
    X, y = X[keep], y[keep]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    messages = []
    cv = cross_validate_model(model, X, y, "classification", folds=5, progress=lambda f, m: messages.append(m))
    expected = cross_val_score(model, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=42))
    assert cv["accuracy"] == pytest.approx((expected.mean(), expected.std()), **APPROX)
    assert len(messages) == 3 and "3 folds" in messages[-1]
    with pytest.raises(ModelDeckError, match="only 1 row"):
        cross_validate_model(model, X[:-2], y[:-2], "classification")


# ---------------------------------------------------------------------------- charts
def _check(fig):
    assert isinstance(fig, go.Figure)
    assert len(fig.data) >= 1
    assert fig.layout.title.text
    assert fig.layout.template.layout.to_plotly_json()  # a template is set


def test_every_figure(binary, multiclass, regression):
    b, m, r = binary, multiclass, regression
    report = MetricReport(**{**b["report"].__dict__, "cv": {"accuracy": (0.95, 0.02), "roc_auc": (0.99, 0.01)}})
    rreport = MetricReport(**{**r["report"].__dict__, "cv": {"r2": (0.45, 0.05), "mae": (44.0, 2.0), "rmse": (55.0, 3.0)}})
    sweep = threshold_sweep(b["y_te"], b["test"].proba[:, 1], "malignant")
    figures = [
        charts.confusion_figure(report),
        charts.confusion_figure(m["report"], normalize=True),
        charts.roc_figure(b["test"]),
        charts.roc_figure(m["test"]),
        charts.pr_figure(b["test"], "malignant"),
        charts.pr_figure(m["test"]),
        charts.calibration_figure(b["test"]),
        charts.calibration_figure(m["test"]),
        charts.threshold_figure(sweep, 0.3),
        charts.residual_figure(r["test"]),
        charts.predicted_vs_actual_figure(r["test"]),
        charts.train_test_figure(report),
        charts.train_test_figure(rreport),
        charts.cv_figure(report),
        charts.cv_figure(rreport),
    ]
    for fig in figures:
        _check(fig)
        assert fig.layout.height == charts.HEIGHT
    assert "0.3" in figures[8].layout.title.text
    assert len(figures[8].layout.shapes) == 1  # the vertical threshold line
    assert len(figures[3].data) == 1 + 3  # chance line + one curve per class
    # the figures serialise (the HTML report embeds them)
    assert all(fig.to_json() for fig in figures)
    assert charts.cv_figure(b["report"]).layout.title.text  # no cv: an explained empty figure
