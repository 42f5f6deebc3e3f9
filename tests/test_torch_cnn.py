"""The PyTorch CNN (issue 13): accuracy on digits, scikit-learn manners, seeds, persistence, transfer learning."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from core.common import ModelDeckError
from core.data import PrepOptions, flat_pixels, images_of, load_dataset, resize_images, split_dataset
from core.models import (InvalidInputError, ModelSpec, TorchCNNClassifier, check_feature_weights, label_budget_rows,
                         transfer_study)


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("builtin:digits")
    return ds, split_dataset(ds, PrepOptions())


def test_cnn_reaches_97_percent_on_8x8_digits_with_a_seed(digits):
    from core.train import train_model
    ds, _split = digits
    trained = train_model(ds, ModelSpec.create("cnn", seed=0), PrepOptions(), cv_folds=0)
    assert trained.report.test["accuracy"] >= 0.97
    assert trained.history and trained.history[-1]["val_score"] is not None
    # the CNN scales pixels itself: its pipeline keeps raw pixel values (no per-pixel standardisation)
    prep = trained.pipeline.named_steps["prep"]
    X = digits[1].X_test.iloc[:5]
    np.testing.assert_allclose(prep.transform(X), X.to_numpy(), rtol=0, atol=1e-6)


def small(**kwargs) -> TorchCNNClassifier:
    return TorchCNNClassifier(**({"epochs": 3, "width": 4, "dense": 16, "random_state": 1} | kwargs))


def test_scikit_learn_manners_clone_params_and_persistence(digits):
    import skops.io as sio
    _ds, split = digits
    X, y = split.X_train.to_numpy(np.float32)[:300], split.y_train.to_numpy()[:300]
    model = small(aug_shift=0.1).fit(X, y)
    assert clone(model).get_params() == model.get_params() and not hasattr(clone(model), "net_")
    expected = model.predict_proba(split.X_test.to_numpy(np.float32))
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-6)
    data = sio.dumps(model)
    restored = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    for other in (restored, pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_allclose(other.predict_proba(split.X_test.to_numpy(np.float32)), expected, atol=1e-6)
    assert list(model.classes_) == sorted(set(y), key=str)


def test_same_seed_same_model_and_the_callers_random_state_is_untouched(digits):
    import torch
    _ds, split = digits
    X, y = split.X_train.to_numpy(np.float32)[:200], split.y_train.to_numpy()[:200]
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    seen = []
    first = small(aug_rotation=15, aug_noise=0.05).fit(X, y, progress=lambda f, m, h: seen.append((f, m, len(h))))
    assert torch.equal(torch.rand(3), before)
    second = small(aug_rotation=15, aug_noise=0.05).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = small(aug_rotation=15, aug_noise=0.05, random_state=2).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))
    assert [s[2] for s in seen] == [1, 2, 3] and "validation accuracy" in seen[-1][1]


def test_augmentation_changes_training_but_not_prediction(digits):
    _ds, split = digits
    X, y = split.X_train.to_numpy(np.float32)[:200], split.y_train.to_numpy()[:200]
    plain, augmented = small().fit(X, y), small(aug_shift=0.2, aug_rotation=20).fit(X, y)
    assert plain.history_[0]["train_loss"] != augmented.history_[0]["train_loss"]
    np.testing.assert_array_equal(augmented.predict(X), augmented.predict(X))   # no randomness at prediction


def test_a_table_that_is_not_pictures_gets_a_clear_message():
    with pytest.raises(InvalidInputError, match="square picture"):
        small().fit(np.zeros((10, 30), dtype=np.float32), ["a", "b"] * 5)
    with pytest.raises(ModelDeckError, match="regression"):
        from core.models import make_estimator
        make_estimator(ModelSpec.create("cnn"), "regression")


def test_starting_weights_of_another_shape_are_refused_with_what_differs(digits):
    _ds, split = digits
    X, y = split.X_train.to_numpy(np.float32)[:100], split.y_train.to_numpy()[:100]
    model = small().fit(X, y)
    weights = model.feature_weights()
    wider = small(width=8)
    with pytest.raises(ModelDeckError, match="do not fit this CNN's convolution layers"):
        wider.fit(X, y, init_weights=weights)
    from core.models import build_cnn
    check_feature_weights(build_cnn(**model.arch_), weights)          # the same architecture passes


def test_fine_tuning_with_50_labels_per_class_beats_scratch():
    """Pretrain on scikit-learn's digits (resized to 28×28), fine-tune on the MNIST sample with 50 labels a class."""
    source_set = load_dataset("builtin:digits")
    X_source = flat_pixels(resize_images(images_of(source_set), (28, 28), 1))
    source = TorchCNNClassifier(epochs=6, random_state=0).fit(X_source, source_set.y.to_numpy())
    target = load_dataset("images:mnist")
    X, y = flat_pixels(images_of(target)), target.y.to_numpy()
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:1000], order[1000:]
    result = transfer_study(source, X[train], y[train], X[test], y[test], budgets=(50,), starts=("all",), seed=0,
                            params={"epochs": 15}, source_name="digits", target_name="the MNIST sample")
    table = result.table()
    assert list(table["labelled"]) == [500, 500]
    assert result.gain(50, "all") > 0, table
    assert "from scratch" in result.sentence() and "1,000 test pictures" in result.sentence()


def test_label_budget_takes_the_same_pictures_for_the_same_seed():
    y = np.array(["a"] * 10 + ["b"] * 3)
    rows = label_budget_rows(y, 5, seed=4)
    np.testing.assert_array_equal(rows, label_budget_rows(y, 5, seed=4))
    assert (y[rows] == "a").sum() == 5 and (y[rows] == "b").sum() == 3


def test_safetensors_weights_are_shape_checked_and_pickles_refused(digits, tmp_path):
    from core.models import charts as model_charts
    from core.models import weights_from_safetensors
    _ds, split = digits
    X, y = split.X_train.to_numpy(np.float32), split.y_train.to_numpy()
    model = small().fit(X[:200], y[:200])
    path = tmp_path / "cnn.safetensors"
    model.save_weights(path)
    shape = model.arch_["image_shape"]
    features = weights_from_safetensors(path.read_bytes(), shape, width=4, dense=16, name="cnn.safetensors")
    assert set(features.weights) == set(model.feature_weights())
    with pytest.raises(ModelDeckError, match="do not fit this CNN's convolution layers"):
        weights_from_safetensors(path.read_bytes(), shape, width=8)
    with pytest.raises(ModelDeckError, match="not a safetensors file"):
        weights_from_safetensors(pickle.dumps({"weights": [1, 2]}), shape)
    result = transfer_study(features, X, y, split.X_test.to_numpy(np.float32), split.y_test.to_numpy(), budgets=(5,),
                            starts=("frozen",), params={"epochs": 2}, seed=1)
    assert list(result.table()["start"]) == ["scratch", "frozen"] and result.classes == 10
    fig = model_charts.transfer_figure(result)
    assert [t.name for t in fig.data] == ["from scratch", "pretrained, convolutions frozen"]
