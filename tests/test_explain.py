"""Explain (core): explainer choice, SHAP additivity against the stated output, references, LIME, storage, bad input."""
from __future__ import annotations

import json
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from core import explain as ex
from core.data import load_dataset, make_dataset
from core.common import ModelDeckError
from core.explain import explain_row_lime
from core.models import ModelSpec
from core.data import PrepOptions, split_dataset
from core.train import build_pipeline, train_model
from core.explain import counterfactual, edit_row

warnings.filterwarnings("ignore", message=".*(feature names|unrecognized nn.Module).*")

SMALL = {"random_forest": {"n_estimators": 25, "max_depth": 6}, "hist_gb": {"max_iter": 25},
         "mlp": {"epochs": 6, "hidden": (16, 8)}, "linear": {}, "knn": {}, "svm": {}}


@lru_cache(maxsize=None)
def trained(key: str, family: str, **extra):
    dataset = load_dataset(key)
    model = train_model(dataset, ModelSpec.create(family, **(SMALL[family] | extra)), cv_folds=0)
    return dataset, model, split_dataset(dataset, model.prep)


def explained(key: str, family: str, method: str | None = None, rows: int = 300):
    dataset, model, split = trained(key, family)
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, method)
    return dataset, model, split, engine, ex.explain_split(engine, split, max_rows=rows)


# ---------------------------------------------------------------- choosing the explainer
@pytest.mark.parametrize("family, expected", [
    ("random_forest", ["tree", "permutation", "kernel"]), ("hist_gb", ["tree", "permutation", "kernel"]),
    ("linear", ["linear", "permutation", "kernel"]), ("mlp", ["deep", "gradient", "permutation", "kernel"]),
    ("knn", ["permutation", "kernel"]), ("svm", ["permutation", "kernel"])])
@pytest.mark.parametrize("key", ["builtin:breast_cancer", "builtin:diabetes"])
def test_explainer_choice_per_family(key, family, expected):
    dataset = load_dataset(key)
    pipeline = build_pipeline(dataset, ModelSpec.create(family), PrepOptions())
    assert ex.available_methods(pipeline) == expected
    assert ex.choose_method(pipeline) == expected[0]


def test_override_that_does_not_fit_the_model_is_refused():
    dataset, model, split = trained("builtin:breast_cancer", "knn")
    with pytest.raises(ModelDeckError, match="does not fit this model"):
        ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "tree")


# ---------------------------------------------------------------- additivity against the stated output
def _reference_output(model, X: pd.DataFrame, expl: ex.Explanation) -> np.ndarray:
    """The output each method says it explains, computed independently of the explainer."""
    pipeline = model.pipeline
    inner = pipeline.named_steps["model"]
    Xt = pipeline.named_steps["prep"].transform(X)
    if expl.classes is None:
        return np.asarray(pipeline.predict(X), dtype=float)[:, None]
    classes = list(expl.classes)
    if expl.output_kind == "probability":
        proba = pipeline.predict_proba(X)
        return proba[:, [classes.index(n) for n in expl.output_names]]
    if hasattr(inner, "net_"):
        import torch
        with torch.no_grad():
            logits = inner.net_(torch.as_tensor(Xt, dtype=torch.float32)).double().numpy()
    else:
        logits = inner.decision_function(Xt)
        logits = logits[:, None] if logits.ndim == 1 else logits
    if expl.output_kind == "log-odds":
        if logits.shape[1] == 1:          # scikit-learn's margin is the log-odds of classes_[1]
            sign = 1.0 if classes.index(expl.output_names[0]) == 1 else -1.0
            return sign * logits
        pos = classes.index(expl.output_names[0])
        return (logits[:, pos] - logits[:, 1 - pos])[:, None]
    return logits


@pytest.mark.parametrize("key, family, kind", [
    ("builtin:breast_cancer", "random_forest", "probability"), ("builtin:breast_cancer", "hist_gb", "log-odds"),
    ("builtin:breast_cancer", "linear", "log-odds"), ("builtin:breast_cancer", "mlp", "log-odds"),
    ("builtin:wine", "random_forest", "probability"), ("builtin:wine", "hist_gb", "class score"),
    ("builtin:wine", "linear", "class score"), ("builtin:wine", "mlp", "class score"),
    ("builtin:diabetes", "random_forest", "value"), ("builtin:diabetes", "hist_gb", "value"),
    ("builtin:diabetes", "linear", "value"), ("builtin:diabetes", "mlp", "value"),
    ("builtin:churn", "hist_gb", "log-odds")])
def test_shap_additivity_against_the_stated_output(key, family, kind):
    _, model, _, engine, expl = explained(key, family, rows=20 if family == "mlp" else 150)   # Deep: row by row
    assert engine.method in ex.EXACT_METHODS and expl.output_kind == kind
    reference = _reference_output(model, expl.data, expl)
    assert reference.shape == expl.outputs.shape
    # the engine's output is the model's (float32 networks: rounding only)
    np.testing.assert_allclose(expl.outputs, reference, atol=1e-4 if family == "mlp" else 1e-9)
    # base value + SHAP values = model output, for every explained row and output
    gap = np.abs(expl.base_values + expl.values.sum(axis=1) - reference)
    assert gap.max() < 1e-4, gap.max()
    assert expl.additivity_error < 1e-4
    # grouping one-hot columns keeps the sums
    np.testing.assert_allclose(expl.values.sum(axis=1), expl.values_transformed.sum(axis=1), atol=1e-10)
    # the predicted labels / values are the pipeline's
    predicted = model.pipeline.predict(expl.data)
    if expl.classes is None:
        np.testing.assert_allclose(expl.predictions, predicted, atol=1e-4)
    else:
        assert (expl.predictions == np.asarray(predicted).astype(str)).all()


def test_linear_shap_is_weight_times_distance_from_the_background_mean():
    _, model, _, engine, expl = explained("builtin:diabetes", "linear", rows=100)
    coef = model.pipeline.named_steps["model"].coef_
    Xt = engine.transform(expl.data)
    np.testing.assert_allclose(expl.values_transformed[:, :, 0], coef * (Xt - engine.background.mean(axis=0)),
                               atol=1e-9)


def test_model_agnostic_shap_is_exact_on_an_additive_model():
    """Permutation SHAP on a linear regression equals the exact answer weight × (x − background mean)."""
    dataset, model, split = trained("builtin:diabetes", "linear")
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "permutation")
    expl = ex.explain_frame(engine, split.X_test.iloc[:8])
    coef = model.pipeline.named_steps["model"].coef_
    exact = coef * (engine.transform(split.X_test.iloc[:8]) - engine.background.mean(axis=0))
    np.testing.assert_allclose(expl.values_transformed[:, :, 0], exact, atol=1e-8)
    assert expl.additivity_error < 1e-8


@pytest.mark.parametrize("family", ["knn", "svm"])
def test_model_agnostic_methods_explain_the_probability_and_add_up(family):
    dataset, model, split = trained("builtin:breast_cancer", family)
    rows = split.X_test.iloc[:2]
    proba = model.pipeline.predict_proba(rows)[:, list(model.pipeline.classes_).index("malignant")]
    for method in ("permutation", "kernel"):
        engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, method)
        expl = ex.explain_frame(engine, rows)
        np.testing.assert_allclose(expl.outputs[:, 0], proba, atol=1e-9)
        assert expl.output_kind == "probability" and expl.additivity_error < 1e-6
    again = ex.explain_frame(engine, rows)
    np.testing.assert_array_equal(expl.values, again.values)              # seeded: same numbers twice


def test_deep_falls_back_to_gradient_when_a_layer_breaks_the_sums():
    import copy

    from torch import nn
    dataset, model, split = trained("builtin:breast_cancer", "mlp")
    pipeline = copy.deepcopy(model.pipeline)
    net = pipeline.named_steps["model"].net_
    net[1] = nn.Softsign()                 # DeepLIFT has no rule for this layer: plain gradients, sums break
    engine = ex.ShapEngine(pipeline, split.X_train, dataset.task, dataset.target, "deep")
    assert engine.method == "gradient" and "Deep SHAP" in engine.note
    expl = ex.explain_frame(engine, split.X_test.iloc[:5])
    assert expl.method == "gradient" and not expl.exact and "Gradient" in expl.title
    assert expl.note == engine.note


def test_deep_shap_agrees_with_kernel_shap_on_the_ranking():
    dataset, model, split, engine, deep = explained("builtin:breast_cancer", "mlp", rows=20)
    kernel = ex.explain_frame(ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "kernel"),
                              deep.data.iloc[:8])
    same_rows = pd.Series(np.abs(deep.values[:8, :, 0]).mean(axis=0), index=deep.features)
    overlap, rho = ex.rank_agreement(same_rows, kernel.importance())
    assert overlap >= 3 and rho > 0.5


def test_one_hot_columns_are_summed_back_to_their_column():
    _, _, _, engine, expl = explained("builtin:churn", "random_forest", rows=200)
    fm = engine.features
    assert "contract" in expl.features and "contract" in expl.categorical
    j = expl.features.index("contract")
    members = [m for m, owner in enumerate(fm.owner) if owner == j]
    assert len(members) == 3 and all(fm.transformed[m].startswith("contract_") for m in members)
    np.testing.assert_allclose(expl.values[:, j, 0], expl.values_transformed[:, members, 0].sum(axis=1))


def test_boosting_category_splits_add_up_exactly_and_stay_one_column():
    """Issue 14: boosting splits on category codes itself; shap's own tree reader ignores such splits (its sums are
    off), the engine's rewrite must add up to scikit-learn's own margin, on unseen, missing and usual values."""
    import shap
    dataset, model, split = trained("builtin:churn", "hist_gb")
    inner = model.pipeline.named_steps["model"]
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target)
    assert engine.method == "tree" and engine.features.transformed[0] == "contract"
    rows = split.X_test.iloc[:80].copy()
    rows.iloc[:3, rows.columns.get_loc("contract")] = "a value never seen"
    rows.iloc[3:6, rows.columns.get_loc("contract")] = np.nan
    X_t = engine.transform(rows)
    plain = shap.TreeExplainer(inner).shap_values(X_t, check_additivity=False)
    margin = inner.decision_function(X_t)
    assert np.abs(plain.sum(axis=1) + shap.TreeExplainer(inner).expected_value - margin).max() > 1e-3
    batch = engine.explain(rows)
    np.testing.assert_allclose(batch.base[0] + batch.values[:, :, 0].sum(axis=1), margin, atol=1e-9)
    assert batch.values.shape[1] == len(engine.features.columns)     # one value per column, no one-hot groups
    raw = engine._native.interactions(X_t[:5])
    np.testing.assert_allclose(raw[..., 0].sum(axis=2), batch.values[:5, :, 0], atol=1e-9)


def test_interaction_values_add_up_to_the_shap_values():
    _, _, split, engine, _ = explained("builtin:wine", "random_forest", rows=50)
    rows = split.X_test.iloc[:6]
    raw = np.asarray(engine._native.explainer.shap_interaction_values(engine.transform(rows)))
    per_row = ex.explain_frame(engine, rows)
    np.testing.assert_allclose(raw.sum(axis=2), per_row.values_transformed, atol=1e-9)
    result = ex.interaction_values(engine, rows)
    assert result.mean_abs.shape == (13, 13, 3) and result.n_rows == 6
    assert ex.interaction_summary(result, 0, result.output_kind).startswith("On 6 rows")
    with pytest.raises(ModelDeckError, match="tree models"):
        ex.interaction_values(explained("builtin:wine", "linear", rows=20)[3], rows)


# ---------------------------------------------------------------- sample and storage
def test_seeded_sample_and_storage_round_trip(tmp_path):
    _, _, split, engine, _ = explained("builtin:churn", "hist_gb", rows=50)
    a = ex.explain_split(engine, split, max_rows=120, seed=3)
    b = ex.explain_split(engine, split, max_rows=120, seed=3)
    c = ex.explain_split(engine, split, max_rows=120, seed=4)
    assert a.n_rows == 120 and a.n_available == len(split.X_train) + len(split.X_test)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)
    assert "seeded sample of 120" in a.fidelity()
    stem = ex.explanation_stem(tmp_path, a.method, 120, 3)
    ex.save_explanation(a, stem)
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as data:      # no pickles inside
        assert set(data.files) >= {"values", "base_values", "positions", "outputs"}
    meta = json.loads(stem.with_suffix(".json").read_text())
    assert meta["explainer"] == "Tree SHAP (exact)" and meta["output"] == ["log-odds of 'yes'"]
    assert meta["sample_size"] == 120 and {"shap", "lime", "scikit-learn", "numpy"} <= set(meta["versions"])
    loaded = ex.load_explanation(stem, split)
    np.testing.assert_array_equal(loaded.values, a.values)
    pd.testing.assert_frame_equal(loaded.data, a.data)
    assert ex.latest_explanation(tmp_path, split).n_rows == 120
    assert ex.load_explanation(ex.explanation_stem(tmp_path, "tree", 99, 0), split) is None


# ---------------------------------------------------------------- LIME
def test_lime_is_deterministic_and_reports_its_fit():
    dataset, model, split = trained("builtin:churn", "hist_gb")
    row = split.X_test.iloc[[4]]
    first = explain_row_lime(model.pipeline, split.X_train, row, dataset.categorical_features, dataset.task, "yes")
    second = explain_row_lime(model.pipeline, split.X_train, row, dataset.categorical_features, dataset.task, "yes")
    np.testing.assert_array_equal(first.weights, second.weights)
    assert first.conditions == second.conditions and first.score == second.score
    assert 0.0 <= first.score <= 1.0 and first.num_samples == 5000
    assert set(first.features) == set(row.columns)                     # every column gets a weight
    p_yes = model.pipeline.predict_proba(row)[0, list(model.pipeline.classes_).index("yes")]
    assert first.model_prediction == pytest.approx(p_yes)
    other = explain_row_lime(model.pipeline, split.X_train, row, dataset.categorical_features, dataset.task, "yes",
                             seed=1)
    assert not np.array_equal(other.weights, first.weights)


def test_lime_agrees_with_shap_on_a_linear_regression():
    dataset, model, split, _, expl = explained("builtin:diabetes", "linear", rows=60)
    result = explain_row_lime(model.pipeline, split.X_train, expl.data.iloc[[0]], [], dataset.task)
    overlap, rho = ex.rank_agreement(pd.Series(np.abs(expl.values[0, :, 0]), index=expl.features), result.by_feature())
    assert overlap >= 3 and rho > 0.5 and 0.0 < result.score <= 1.0
    with pytest.raises(ModelDeckError, match="100 samples"):
        explain_row_lime(model.pipeline, split.X_train, expl.data.iloc[[0]], [], dataset.task, num_samples=10)


# ---------------------------------------------------------------- permutation importance
def test_permutation_importance_matches_scikit_learn():
    from sklearn.inspection import permutation_importance
    dataset, model, split = trained("builtin:breast_cancer", "random_forest")
    calls = []
    ours = ex.permutation_importance_test(model.pipeline, split.X_test, split.y_test, dataset.task, n_repeats=3,
                                          seed=0, progress=lambda f, m: calls.append(f))
    theirs = permutation_importance(model.pipeline, split.X_test, split.y_test, scoring="accuracy", n_repeats=3,
                                    random_state=0)
    np.testing.assert_allclose(ours.mean, theirs.importances_mean)
    assert calls and calls[-1] == pytest.approx(1.0)
    assert ours.baseline == pytest.approx(model.report.test["accuracy"])
    assert ex.PermutationResult.from_dict(ours.to_dict()).features == ours.features


# ---------------------------------------------------------------- words
def test_row_summary_names_the_prediction_and_the_value_rank():
    dataset, _, split, _, expl = explained("builtin:breast_cancer", "random_forest", rows=100)
    i = 0
    text = ex.row_summary(expl, i, 0, split.X_train, ex.entity_words(dataset.key))
    top = expl.features[int(np.argmax(np.abs(expl.values[i, :, 0])))]
    value = float(expl.data.iloc[i][top])
    share = (split.X_train[top] < value).mean() if (split.X_train[top] < value).mean() >= 0.5 else \
        (split.X_train[top] > value).mean()
    assert text.startswith(f"For this patient the model predicts '{expl.predictions[i]}'")
    assert f"{top} = {ex.fmt_value(value)}" in text and f"{share:.0%} of patients" in text
    assert "patients" in ex.global_summary(expl, 0, ex.entity_words(dataset.key))
    table = ex.row_table(expl, i, 0, split.X_train, ex.entity_words(dataset.key))
    assert table.iloc[0]["column"] == top


def test_surprising_rows_are_confident_mistakes():
    _, _, _, _, expl = explained("builtin:churn", "hist_gb", rows=600)
    picks = ex.surprising_rows(expl)
    assert picks and all(expl.predictions[i] != expl.y_true[i] for i in picks)
    test_picks = [i for i in picks if expl.part[i] == "test"]
    conf = expl.proba.max(axis=1)
    assert [conf[i] for i in test_picks] == sorted((conf[i] for i in test_picks), reverse=True)
    matches = ex.filter_rows(expl, "contract", categories=["two-year"])
    assert matches and (expl.data.iloc[matches]["contract"] == "two-year").all()


# ---------------------------------------------------------------- what-if and counterfactuals
def test_what_if_edits_change_the_prediction_and_bad_values_are_refused():
    dataset, model, split, engine, expl = explained("builtin:churn", "hist_gb", rows=100)
    row = expl.data.iloc[[0]]
    edited = edit_row(row, {"contract": "month-to-month", "tenure_months": 1, "support_calls_90d": 9},
                      expl.categorical, split.X_train)
    after = ex.explain_frame(engine, edited)
    assert after.outputs[0, 0] != pytest.approx(expl.outputs[0, 0])
    np.testing.assert_allclose(after.proba, model.pipeline.predict_proba(edited))
    for value, message in ((None, "empty"), (float("nan"), "finite"), ("abc", "not a number"), ("", "empty")):
        with pytest.raises(ModelDeckError, match=message):
            edit_row(row, {"tenure_months": value}, expl.categorical, split.X_train)
    with pytest.raises(ModelDeckError, match="never appears"):
        edit_row(row, {"contract": "lifetime"}, expl.categorical, split.X_train)
    with pytest.raises(ModelDeckError, match="not a column"):
        edit_row(row, {"customer_id": 3}, expl.categorical, split.X_train)


def test_counterfactual_flips_the_prediction_with_allowed_columns_only():
    dataset, model, split, _, expl = explained("builtin:breast_cancer", "random_forest", rows=50)
    row = expl.data.iloc[[0]]
    allowed = [expl.features[j] for j in np.argsort(-np.abs(expl.values[0, :, 0]))[:4]]
    result = counterfactual(model.pipeline, row, allowed, split.X_train, [], seed=0)
    assert result.found and 1 <= len(result.changed) <= 3 and set(result.changed) <= set(allowed)
    assert model.pipeline.predict(result.after)[0] != model.pipeline.predict(row)[0] == result.before_label
    unchanged = [c for c in row.columns if c not in result.changed]
    pd.testing.assert_frame_equal(result.after[unchanged].astype(float), row[unchanged].astype(float))
    for column in result.changed:                     # realistic: inside the training range
        assert split.X_train[column].min() <= result.after.iloc[0][column] <= split.X_train[column].max()
    assert result.sentence(("patient", "patients")).startswith("Had ")
    again = counterfactual(model.pipeline, row, allowed, split.X_train, [], seed=0)
    pd.testing.assert_frame_equal(again.after, result.after)
    with pytest.raises(ModelDeckError, match="at least one column"):
        counterfactual(model.pipeline, row, [], split.X_train, [])


# ---------------------------------------------------------------- bad input
def test_rows_out_of_range_and_tiny_data_get_clear_messages():
    dataset, model, split, engine, expl = explained("builtin:breast_cancer", "hist_gb", rows=50)
    with pytest.raises(ModelDeckError, match="Rows go from 0 to 568"):
        ex.locate_row(expl, 5000, len(dataset.frame))
    assert ex.locate_row(expl, expl.row_ids[3]) == 3
    with pytest.raises(ModelDeckError, match="at least 2 training rows"):
        ex.ShapEngine(model.pipeline, split.X_train.iloc[:1], dataset.task, dataset.target)
    tiny = type(split)(split.X_train.iloc[:1], split.X_test.iloc[:0], split.y_train.iloc[:1], split.y_test.iloc[:0])
    with pytest.raises(ModelDeckError, match="at least 2 rows"):
        ex.explain_split(engine, tiny)


def test_text_and_date_columns_are_named_as_not_explained():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"x": rng.normal(size=n), "note": [f"free text number {i} about things" for i in range(n)],
                          "when": pd.date_range("2024-01-01", periods=n).astype(str), "label": rng.integers(0, 2, n)})
    dataset = make_dataset(frame, "label", "classification", key="upload:test")
    note = ex.unused_columns_note(dataset)
    assert "'when' (date)" in note and "'note'" in note
    model = train_model(dataset, ModelSpec.create("linear"), cv_folds=0)
    split = split_dataset(dataset, model.prep)
    expl = ex.explain_split(ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target), split)
    assert expl.features == ["x"] and expl.additivity_error < 1e-9
