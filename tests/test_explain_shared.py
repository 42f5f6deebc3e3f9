"""Issue 11: explanations without shared state — a cached engine is never changed by the sessions that use it, every
random draw comes from a Generator passed in (numpy's process-wide one is neither read nor reseeded), and sampled
methods state their spread across two seeds instead of an additivity figure."""
from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

import core.explain as ex
from core.data import load_dataset, split_dataset
from core.explain._sampling import kernel_shap, permutation_shap
from core.models import ModelSpec
from core.train import train_model


@pytest.fixture(scope="module")
def knn_on_cancer():
    dataset = load_dataset("builtin:breast_cancer")
    model = train_model(dataset, ModelSpec.create("knn"), cv_folds=0)
    return dataset, model, split_dataset(dataset, model.prep)


@pytest.mark.parametrize("method", ["permutation", "kernel"])
def test_two_threads_on_one_cached_engine_get_what_each_gets_alone(knn_on_cancer, method):
    dataset, model, split = knn_on_cancer
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, method)
    rows_a, rows_b = split.X_test.iloc[:4], split.X_test.iloc[4:8]
    alone_a = ex.explain_frame(engine, rows_a).values
    alone_b = ex.explain_frame(engine, rows_b).values
    attributes = {name: id(value) for name, value in engine.__dict__.items()}      # nothing reassigned afterwards
    background = engine.background.copy()
    results, errors = {}, []

    def work(name, rows):
        try:
            for _ in range(2):
                results.setdefault(name, []).append(ex.explain_frame(engine, rows).values)
                np.random.seed(12345)              # another session reseeding numpy's global generator meanwhile
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=("a", rows_a)), threading.Thread(target=work, args=("b", rows_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for values in results["a"]:
        np.testing.assert_array_equal(values, alone_a)
    for values in results["b"]:
        np.testing.assert_array_equal(values, alone_b)
    assert {name: id(value) for name, value in engine.__dict__.items()} == attributes
    assert engine.method == method and engine.note == ""
    np.testing.assert_array_equal(engine.background, background)


def test_explaining_never_touches_numpys_global_generator(knn_on_cancer):
    dataset, model, split = knn_on_cancer
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "permutation")
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    ex.explain_frame(engine, split.X_test.iloc[:2])
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_the_seed_is_the_generator_passed_in(knn_on_cancer):
    dataset, model, split = knn_on_cancer
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "permutation")
    rows = split.X_test.iloc[:3]
    a = engine.explain(rows, rng=np.random.default_rng(1)).values
    b = engine.explain(rows, rng=np.random.default_rng(1)).values
    c = engine.explain(rows, rng=np.random.default_rng(2)).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sampled_methods_state_their_spread_not_an_additivity_figure(knn_on_cancer):
    dataset, model, split = knn_on_cancer
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "permutation")
    expl = ex.explain_frame(engine, split.X_test.iloc[:5])
    again = engine.explain(split.X_test.iloc[:5], rng=np.random.default_rng(engine.seed + 1)).values
    expected = np.mean(np.abs(again - expl.values_transformed)) / np.mean(np.abs(expl.values_transformed))
    assert expl.seed_spread == pytest.approx(expected) and expl.spread_rows == 5
    assert "additivity" not in expl.fidelity() and "explained again with another seed" in expl.fidelity()
    forest = train_model(dataset, ModelSpec.create("random_forest", n_estimators=10), cv_folds=0)
    tree = ex.explain_frame(ex.ShapEngine(forest.pipeline, split.X_train, dataset.task, dataset.target),
                            split.X_test.iloc[:5])
    assert tree.seed_spread is None and "additivity error" in tree.fidelity()


def test_the_deep_fallback_returns_a_new_engine_and_leaves_the_cached_one_alone():
    from torch import nn
    dataset = load_dataset("builtin:breast_cancer")
    model = train_model(dataset, ModelSpec.create("mlp", epochs=5), cv_folds=0)
    split = split_dataset(dataset, model.prep)
    engine = ex.ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "deep")
    assert engine.method == "deep"
    fallback = engine.fallback("a note")
    assert fallback is not engine and fallback.method == "gradient" and engine.method == "deep"
    assert engine.note == "" and fallback.note == "a note"
    broken = copy.deepcopy(model.pipeline)
    broken.named_steps["model"].net_[1] = nn.Softsign()
    # built on a network whose sums break: the engine itself switches while being built (nobody holds it yet)
    built = ex.ShapEngine(broken, split.X_train, dataset.task, dataset.target, "deep")
    assert built.method == "gradient"


def test_the_estimators_are_exact_where_they_should_be():
    rng = np.random.default_rng(0)
    w = rng.normal(size=5)

    def f(Z):
        return (Z @ w)[:, None]
    X, bg = rng.normal(size=(3, 5)), rng.normal(size=(7, 5))
    exact = w * (X - bg.mean(axis=0))
    phi, base = permutation_shap(f, X, bg, np.random.default_rng(1))
    np.testing.assert_allclose(phi[:, :, 0], exact, atol=1e-12)
    phi, base = kernel_shap(f, X, bg, np.random.default_rng(1), samples=100)        # 2^5 - 2 = 30: every coalition
    np.testing.assert_allclose(phi[:, :, 0], exact, atol=1e-10)
    np.testing.assert_allclose(base, f(bg).mean(axis=0))
