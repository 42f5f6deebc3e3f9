"""Tests for core.models.torch_mlp: learning, determinism, scikit-learn manners, persistence."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from core.common import ModelDeckError
from core.models import torch_mlp
from core.models._nets import DropoutMasks, forward_plan
from core.models.torch_mlp import MLP_OPTIMIZERS, TorchMLPClassifier, TorchMLPRegressor, build_mlp


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)


@pytest.fixture(scope="module")
def cancer_scaled(cancer):
    X_tr, X_te, y_tr, y_te = cancer
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


@pytest.fixture(scope="module")
def iris_named():
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["virginica", "setosa", "versicolor"])  # deliberately not in sorted order
    return X, pd.Series(names[y], name="species")


def _pipeline(**params) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", TorchMLPClassifier(**params))])


# --------------------------------------------------------------------------- learning


def test_classifier_learns_breast_cancer(cancer):
    X_tr, X_te, y_tr, y_te = cancer
    pipe = _pipeline(random_state=0).fit(X_tr, y_tr)
    model = pipe[-1]
    assert pipe.score(X_te, y_te) > 0.95
    assert model.n_features_in_ == 30
    assert list(model.classes_) == [0, 1]
    assert model.device_ == "cpu"
    assert 1 <= model.best_epoch_ <= model.n_iter_ <= model.epochs
    assert model.fit_seconds_ > 0                      # a figure, not a speed test (speed lives in benchmarks/)
    first = model.history_[0]
    assert set(first) == {"epoch", "train_loss", "val_loss", "val_score", "lr", "seconds"}
    assert all(isinstance(first[k], float) for k in ("train_loss", "val_loss", "val_score", "lr", "seconds"))
    assert [h["epoch"] for h in model.history_] == list(range(1, model.n_iter_ + 1))
    seconds = [h["seconds"] for h in model.history_]
    assert seconds == sorted(seconds)


def test_regressor_learns_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=42)
    pipe = Pipeline([("scale", StandardScaler()), ("model", TorchMLPRegressor(random_state=0))]).fit(X_tr, y_tr)
    assert pipe.score(X_te, y_te) > 0.3
    pred = pipe.predict(X_te)
    assert pred.shape == (len(X_te),) and pred.dtype == np.float64
    assert abs(pred.mean() - y_tr.mean()) < 0.5 * y_tr.std()  # de-standardised back to the target's units
    assert pipe[-1].history_[-1]["val_score"] is not None  # R² on the validation split


def test_regressor_multi_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Y = np.column_stack([X[:, 0] * 3 + 100, X[:, 1] - X[:, 2]])
    model = TorchMLPRegressor(epochs=60, early_stopping=False, lr=3e-3).fit(X, Y)
    assert model.predict(X).shape == (300, 2)
    assert model.score(X, Y) > 0.8


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_model(cancer_scaled):
    X_tr, X_te, y_tr, _ = cancer_scaled
    params = dict(epochs=15, dropout=0.2, random_state=7)
    rng_before = torch.get_rng_state()
    threads_before = torch.get_num_threads()
    a = TorchMLPClassifier(**params).fit(X_tr, y_tr)
    b = TorchMLPClassifier(**params).fit(X_tr, y_tr)
    np.testing.assert_array_equal(a.predict_proba(X_te), b.predict_proba(X_te))
    assert [h["train_loss"] for h in a.history_] == [h["train_loss"] for h in b.history_]
    c = TorchMLPClassifier(**{**params, "random_state": 8}).fit(X_tr, y_tr)
    assert not np.array_equal(a.predict_proba(X_te), c.predict_proba(X_te))
    # fit and predict leave the caller's global RNG and thread setting as it found them
    assert torch.equal(rng_before, torch.get_rng_state())
    assert torch.get_num_threads() == threads_before


def test_build_mlp_generator_is_reproducible():
    net_a = build_mlp(4, 3, [8, 5], "gelu", 0.1, generator=torch.Generator().manual_seed(1))
    net_b = build_mlp(4, 3, (8, 5), "gelu", 0.1, generator=torch.Generator().manual_seed(1))
    for (ka, va), (kb, vb) in zip(net_a.state_dict().items(), net_b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    kinds = [type(m).__name__ for m in net_a]
    assert kinds == ["Linear", "GELU", "Dropout", "Linear", "GELU", "Dropout", "Linear"]
    assert net_a(torch.zeros(2, 4)).shape == (2, 3)


@pytest.mark.parametrize("max_values", [2**22, 700])   # the whole epoch in one draw; blocks of 10 rows
def test_dropout_masks_have_dropouts_law_and_cover_the_epoch(max_values):
    torch.manual_seed(0)
    net = build_mlp(4, 3, (50, 20), dropout=0.25)
    masks = DropoutMasks(net, rows=1000, device=torch.device("cpu"), max_values=max_values)
    epochs = []
    for _ in range(2):
        masks.new_epoch()
        batches = [masks.batch(lo, lo + 64) for lo in range(0, 1024, 64)]   # the last batch is short
        epochs.append([torch.cat([b[layer] for b in batches]) for layer in range(2)])
    first, second = epochs
    assert [m.shape for m in first] == [(1000, 50), (1000, 20)]
    values = torch.cat([m.ravel() for m in first])
    kept = torch.ones(()).div_(0.75).item()                            # F.dropout's scale, 1/(1 - p) in float32
    assert set(values.unique().tolist()) == {0.0, kept}                # dropped, or kept and scaled
    assert abs((values > 0).double().mean().item() - 0.75) < 0.01     # 70,000 draws: sd 0.0016
    assert not torch.equal(first[0], second[0])                        # every epoch draws anew
    half = DropoutMasks(net, rows=10, device=torch.device("cpu"), dtype=torch.bfloat16)
    assert half.batch(0, 10)[0].dtype == torch.bfloat16                  # the activations' type under autocast


def test_forward_plan_applies_the_given_masks():
    torch.manual_seed(1)
    net = build_mlp(6, 3, (8, 5), activation="tanh", dropout=0.5)
    x = torch.randn(7, 6)
    m0, m1 = (torch.randint(0, 2, (7, w)).float() * 2 for w in (8, 5))
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    expected = linear[2](torch.tanh(linear[1](torch.tanh(linear[0](x)) * m0)) * m1)
    torch.testing.assert_close(forward_plan(net, training=True)(x, [m0, m1]), expected, rtol=0, atol=0)
    torch.testing.assert_close(forward_plan(net, training=False)(x), net.eval()(x), rtol=0, atol=0)


# --------------------------------------------------------------------------- scikit-learn manners


def test_clone_and_get_params_round_trip():
    model = TorchMLPClassifier(hidden=[32, 16], optimizer="momentum", schedule="cosine", dropout=0.3,
                               epochs=7, random_state=3)
    params = model.get_params()
    assert params["hidden"] == [32, 16] and params["optimizer"] == "momentum"
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    assert TorchMLPClassifier(**params).get_params() == params
    twin.set_params(hidden=(8,), lr=0.01)
    assert twin.get_params()["hidden"] == (8,) and model.get_params()["hidden"] == [32, 16]
    assert TorchMLPRegressor().get_params().keys() == TorchMLPClassifier().get_params().keys()


def test_pipeline_passes_progress_and_clones_fitted(cancer):
    X_tr, _, y_tr, _ = cancer
    calls = []
    pipe = _pipeline(epochs=3, early_stopping=False).fit(X_tr, y_tr, model__progress=lambda *a: calls.append(a))
    assert len(calls) == 3
    fresh = clone(pipe)
    assert not hasattr(fresh[-1], "net_")


@pytest.mark.parametrize("name", MLP_OPTIMIZERS)
def test_every_optimizer_trains(name, cancer_scaled):
    X_tr, X_te, y_tr, y_te = cancer_scaled
    lr = {"sgd": 0.05, "momentum": 0.01, "adagrad": 0.05, "rmsprop": 1e-3}.get(name, 1e-3)
    model = TorchMLPClassifier(optimizer=name, lr=lr, epochs=8, early_stopping=False, weight_decay=1e-4).fit(X_tr, y_tr)
    losses = [h["train_loss"] for h in model.history_]
    assert len(losses) == 8 and np.isfinite(losses).all()
    assert losses[-1] < losses[0]
    assert model.score(X_te, y_te) > 0.85
    if name == "adam":
        assert all(b < a for a, b in zip(losses[:4], losses[1:5]))  # steadily down at the start


@pytest.mark.parametrize("name", MLP_OPTIMIZERS)
def test_lean_step_matches_optimizer_step(name, cancer_scaled, monkeypatch):
    """LeanStep calls torch.optim's functional update directly; the weights must be bit-identical."""
    X_tr, _, y_tr, _ = cancer_scaled
    params = dict(optimizer=name, lr=0.01, epochs=4, schedule="step", step_size=2, gamma=0.5,
                  weight_decay=1e-3, random_state=5)
    lean = TorchMLPClassifier(**params).fit(X_tr, y_tr)
    monkeypatch.setattr(torch_mlp._TorchMLPBase, "_lean_steps", False)
    plain = TorchMLPClassifier(**params).fit(X_tr, y_tr)
    for (k, a), (_, b) in zip(lean.net_.state_dict().items(), plain.net_.state_dict().items()):
        assert torch.equal(a, b), f"{name}: {k} differs"


def test_schedules_change_learning_rate(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    step = TorchMLPClassifier(schedule="step", step_size=3, gamma=0.1, lr=0.01, epochs=7,
                              early_stopping=False).fit(X_tr, y_tr)
    assert [h["lr"] for h in step.history_] == pytest.approx([0.01] * 3 + [0.001] * 3 + [0.0001])
    cosine = TorchMLPClassifier(schedule="cosine", lr=0.01, epochs=10, early_stopping=False).fit(X_tr, y_tr)
    lrs = [h["lr"] for h in cosine.history_]
    assert lrs[0] == pytest.approx(0.01) and all(b < a for a, b in zip(lrs, lrs[1:])) and lrs[-1] < 0.001
    none = TorchMLPClassifier(lr=0.01, epochs=3, early_stopping=False).fit(X_tr, y_tr)
    assert {h["lr"] for h in none.history_} == {0.01}


def test_early_stopping_stops_and_restores_best():
    X, y = make_classification(n_samples=400, n_features=10, n_informative=3, class_sep=2.0, flip_y=0.05,
                               random_state=0)
    params = dict(epochs=300, patience=5, lr=0.01, random_state=0)
    model = TorchMLPClassifier(**params).fit(X, y)
    assert model.n_iter_ < 300
    val = [h["val_loss"] for h in model.history_]
    assert model.best_epoch_ == int(np.argmin(val)) + 1
    assert model.n_iter_ == model.best_epoch_ + 5
    # The same seed trained only up to the best epoch follows the same path: its weights are the restored ones.
    short = TorchMLPClassifier(**{**params, "epochs": model.best_epoch_}).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), short.predict_proba(X))


def test_without_early_stopping_history_has_train_metrics_only(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    model = TorchMLPClassifier(epochs=4, early_stopping=False).fit(X_tr, y_tr)
    assert model.n_iter_ == 4 and model.best_epoch_ == 4
    assert all(h["val_loss"] is None and h["val_score"] is None for h in model.history_)


def test_string_labels_and_probabilities(iris_named):
    X, y = iris_named
    model = TorchMLPClassifier(epochs=60, lr=0.01, early_stopping=False).fit(StandardScaler().fit_transform(X), y)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    Xs = StandardScaler().fit_transform(X)
    proba = model.predict_proba(Xs)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    pred = model.predict(Xs)
    np.testing.assert_array_equal(pred, model.classes_[proba.argmax(axis=1)])
    # column j is the probability of classes_[j]: the true class gets most of the mass
    true_col = np.searchsorted(model.classes_, y.to_numpy())
    assert proba[np.arange(150), true_col].mean() > 0.8
    assert model.score(Xs, y) > 0.9


def test_progress_called_once_per_epoch(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    calls = []
    model = TorchMLPClassifier(epochs=6, early_stopping=False).fit(
        X_tr, y_tr, progress=lambda f, msg, hist: calls.append((f, msg, len(hist))))
    fractions = [c[0] for c in calls]
    assert len(calls) == 6 == model.n_iter_
    assert all(b > a for a, b in zip(fractions, fractions[1:])) and fractions[-1] == pytest.approx(1.0)
    assert [c[2] for c in calls] == [1, 2, 3, 4, 5, 6]
    assert model.history_[0]["val_score"] is None
    assert calls[0][1].startswith("Epoch 1/6")


def test_progress_reports_early_stop():
    X, y = make_classification(n_samples=300, n_features=8, class_sep=2.0, random_state=1)
    calls = []
    model = TorchMLPClassifier(epochs=500, patience=3, lr=0.02).fit(X, y, progress=lambda *a: calls.append(a))
    assert len(calls) == model.n_iter_ < 500
    assert calls[-1][0] == 1.0 and "stopped early" in calls[-1][1]
    assert "validation accuracy" in calls[0][1]


# --------------------------------------------------------------------------- persistence


def test_skops_round_trip_of_fitted_pipeline(cancer, tmp_path):
    import skops.io as sio

    X_tr, X_te, y_tr, _ = cancer
    pipe = _pipeline(epochs=10, hidden=[16, 8], dropout=0.1).fit(X_tr, y_tr)
    path = tmp_path / "model.skops"
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    allowed_prefixes = ("core.models.torch_mlp.", "numpy.", "sklearn.")
    assert untrusted and all(t.startswith(allowed_prefixes) for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(pipe.predict_proba(X_te), loaded.predict_proba(X_te))
    np.testing.assert_array_equal(pipe.predict(X_te), loaded.predict(X_te))
    model = loaded[-1]
    assert model.history_ == pipe[-1].history_ and model.get_params() == pipe[-1].get_params()
    assert model.device_ == "cpu"
    # the loaded model can be trained again
    model.fit(StandardScaler().fit_transform(X_tr), y_tr)


def test_state_holds_no_torch_objects(cancer_scaled):
    X_tr, X_te, y_tr, _ = cancer_scaled
    model = TorchMLPRegressor(epochs=3).fit(X_tr, y_tr.astype(float))

    def walk(value):
        assert not isinstance(value, (torch.Tensor, torch.nn.Module, torch.device)), type(value)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(model.__getstate__())
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(model.predict(X_te), twin.predict(X_te))


def test_safetensors_weights(cancer_scaled, tmp_path):
    X_tr, X_te, y_tr, _ = cancer_scaled
    a = TorchMLPClassifier(epochs=3, random_state=1).fit(X_tr, y_tr)
    b = TorchMLPClassifier(epochs=3, random_state=2).fit(X_tr, y_tr)
    a.save_weights(tmp_path / "w.safetensors")
    b.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(a.predict_proba(X_te), b.predict_proba(X_te))


# --------------------------------------------------------------------------- errors


def test_nan_input_raises_clear_error(cancer_scaled):
    X_tr, X_te, y_tr, _ = cancer_scaled
    bad = X_tr.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        TorchMLPClassifier(epochs=1).fit(bad, y_tr)
    with pytest.raises(ModelDeckError):  # pages can show it with st.error
        TorchMLPClassifier(epochs=1).fit(bad, y_tr)
    model = TorchMLPClassifier(epochs=1).fit(X_tr, y_tr)
    bad_te = X_te.copy()
    bad_te[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        model.predict(bad_te)
    with pytest.raises(ValueError):
        model.predict(X_te[:, :5])  # wrong number of features


def test_bad_settings_raise_value_errors(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    for bad in (dict(optimizer="lbfgs"), dict(activation="swish"), dict(schedule="linear"), dict(dropout=1.0)):
        with pytest.raises(ValueError, match="|".join(map(str, bad.values()))):
            TorchMLPClassifier(epochs=1, **bad).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="at least 2 classes"):
        TorchMLPClassifier(epochs=1).fit(X_tr, np.zeros(len(X_tr)))


def test_divergence_raises_actionable_error(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    with pytest.raises(ModelDeckError, match="Lower the learning rate"):
        TorchMLPClassifier(optimizer="sgd", lr=1e9, epochs=5).fit(X_tr, y_tr)


def test_dataframe_input_keeps_feature_names(iris_named):
    X, y = iris_named
    model = TorchMLPClassifier(epochs=2, activation="tanh").fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.predict(X).shape == (150,)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "leaky_relu"])
def test_activations(activation, cancer_scaled):
    X_tr, X_te, y_tr, y_te = cancer_scaled
    model = TorchMLPClassifier(activation=activation, epochs=10, dropout=0.1, early_stopping=False).fit(X_tr, y_tr)
    assert model.score(X_te, y_te) > 0.9


# --------------------------------------------------------------------------- issue 15: stopping, init, old models


def test_stopping_like_sklearn_keeps_every_row_and_watches_the_training_loss(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    calls = []
    # tol=1.0: no epoch improves the training loss by a whole unit, so it stops after `patience` stale epochs
    model = TorchMLPClassifier(validation_fraction=0.0, tol=1.0, patience=3, epochs=50).fit(
        X_tr, y_tr, progress=lambda *a: calls.append(a))
    assert model.n_iter_ == 4 and model.best_epoch_ == 4                     # epoch 1 sets the best, 3 stale ones
    assert all(h["val_loss"] is None for h in model.history_)                # no row held out
    assert "training loss improved by less than 1" in calls[-1][1] and calls[-1][0] == 1.0
    # scikit-learn's rule, the same counts: stale while loss > best - tol
    losses = [h["train_loss"] for h in TorchMLPClassifier(validation_fraction=0.0, tol=1e-3, patience=4, epochs=300,
                                                          random_state=2).fit(X_tr, y_tr).history_]
    best, stale = np.inf, 0
    for epoch, loss in enumerate(losses, 1):
        stale = stale + 1 if loss > best - 1e-3 else 0
        best = min(best, loss)
        assert (stale >= 4) == (epoch == len(losses))                       # it stops exactly when the rule says


def test_without_early_stopping_tol_never_stops_training(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    model = TorchMLPClassifier(early_stopping=False, validation_fraction=0.0, tol=1.0, patience=2, epochs=7)
    assert model.fit(X_tr, y_tr).n_iter_ == 7


def test_glorot_initialisation_is_scikit_learns(cancer_scaled):
    net = build_mlp(30, 2, (64, 32), init="glorot", generator=torch.Generator().manual_seed(0))
    for layer in (m for m in net if isinstance(m, torch.nn.Linear)):
        bound = np.sqrt(6.0 / (layer.in_features + layer.out_features))
        for tensor in (layer.weight, layer.bias):
            assert tensor.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound                        # uniform over ±bound, not narrower
    legacy = build_mlp(30, 2, (64, 32), generator=torch.Generator().manual_seed(0))
    assert legacy[0].weight.abs().max() <= 1 / np.sqrt(30)                   # nn.Linear's law stays the default
    with pytest.raises(ValueError, match="Unknown initialisation"):
        build_mlp(3, 2, (4,), init="he")
    X_tr, _, y_tr, _ = cancer_scaled
    assert TorchMLPClassifier(epochs=2).fit(X_tr, y_tr)._net_arch["init"] == "glorot"


def test_a_model_saved_before_init_and_tol_existed_opens_and_refits_as_it_was(cancer_scaled):
    X_tr, X_te, y_tr, _ = cancer_scaled
    model = TorchMLPClassifier(epochs=3, init="torch").fit(X_tr, y_tr)
    state = model.__getstate__()
    for key in ("init", "tol", "precision_", "processes_"):
        state.pop(key)
    state["_net_arch"] = {k: v for k, v in state["_net_arch"].items() if k != "init"}
    old = TorchMLPClassifier.__new__(TorchMLPClassifier)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.predict_proba(X_te), model.predict_proba(X_te))
    assert old.get_params()["init"] == "torch"
    again = clone(old).fit(X_tr, y_tr)                                       # refit: the same network as before
    np.testing.assert_array_equal(again.predict_proba(X_te), model.predict_proba(X_te))


def test_one_process_fit_says_so(cancer_scaled):
    X_tr, _, y_tr, _ = cancer_scaled
    model = TorchMLPClassifier(epochs=2).fit(X_tr, y_tr)
    assert model.processes_ == 1 and model.precision_ == "fp32" and model.trains_distributed


def test_the_apps_mlp_is_as_accurate_as_scikit_learns_on_breast_cancer(cancer_scaled):
    """The zoo's MLP against MLPClassifier with the same layers, epochs and batch, each with its defaults: mean test
    accuracy over 3 seeds within one test row (the 5-seed figure on two data sets: `python -m benchmarks.bench_train
    mlp`)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from core.models import ModelSpec, make_estimator
    X_tr, X_te, y_tr, y_te = cancer_scaled
    ours, theirs = [], []
    for seed in range(3):
        spec = ModelSpec.create("mlp", seed=seed, hidden=(64, 32), epochs=100, batch_size=64)
        ours.append(make_estimator(spec, "classification").fit(X_tr, y_tr).score(X_te, y_te))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reference = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=100, batch_size=64, random_state=seed)
            theirs.append(reference.fit(X_tr, y_tr).score(X_te, y_te))
    assert np.mean(ours) >= np.mean(theirs) - 1 / len(y_te), (ours, theirs)
