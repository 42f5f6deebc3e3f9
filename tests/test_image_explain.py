"""Explanations on the picture (issue 13): captum maps, SHAP DeepExplainer sums, LIME regions, captions, mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from core import explain as ex
from core.data import PrepOptions, load_dataset, split_dataset
from core.explain import image_charts


@pytest.fixture(scope="module")
def digits_cnn():
    from core.models import ModelSpec
    from core.train import train_model
    ds = load_dataset("builtin:digits")
    trained = train_model(ds, ModelSpec.create("cnn", seed=0, epochs=8), PrepOptions(), cv_folds=0)
    split = split_dataset(ds, PrepOptions())
    pm = ex.picture_model(trained.pipeline)
    return pm, pm.pixels(split.X_test), split.y_test.to_numpy(), pm.pixels(split.X_train.iloc[:40])


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_shap"])
def test_deep_explainer_sums_match_the_logits_and_agree_with_captum(digits_cnn, method):
    pm, X, y, background = digits_cnn
    pictures, targets = X[:12], y[:12]
    check = ex.deep_shap_check(pm, pictures, targets, ex.reference(pm, method, background))
    assert check.values.shape == pictures.shape
    assert check.max_error < 1e-4 * max(1.0, float(np.abs(check.expected).max()))
    captum = ex.attribute(pm, pictures, targets, method, background=background[:20], seed=0)
    assert ex.agreement(captum, check.values) > 0.6


def test_integrated_gradients_share_out_the_logit_gap_to_the_blank_picture(digits_cnn):
    pm, X, y, _bg = digits_cnn
    maps = ex.attribute(pm, X[:5], y[:5], steps=64)
    k = np.asarray([pm.classes.index(str(t)) for t in y[:5]])
    gap = pm.logits(X[:5])[np.arange(5), k] - pm.logits(np.full_like(X[:5], pm.low))[np.arange(5), k]
    np.testing.assert_allclose(maps.reshape(5, -1).sum(axis=1), gap, rtol=0.05, atol=0.05)


def test_lime_uses_more_than_one_region_on_8x8_and_repeats_with_its_seed(digits_cnn):
    pm, X, y, _bg = digits_cnn
    first = ex.lime_regions(pm, X[0], y[0], seed=3, samples=300)
    assert first.n_segments > 1 and first.n_segments == 16 and "2×2" in first.description
    again = ex.lime_regions(pm, X[0], y[0], seed=3, samples=300)
    assert first.weights == again.weights
    assert first.weight_map().shape == (8, 8)


def test_segmentation_fits_the_size():
    assert ex.segmentation_for(28, 28)[1].startswith("a grid of 4×4")
    assert "SLIC" in ex.segmentation_for(64, 64)[1]


def test_the_caption_says_where_the_evidence_is():
    heat = np.zeros((1, 9, 9))
    heat[0, :3, 3:6] = 1.0          # all evidence in the top middle
    text = ex.where_caption(heat, "7")
    assert "looked mostly at the top (100%)" in text and "for '7'" in text
    assert "half of that evidence comes from 5 of the 81 pixels (6%)" in text
    heat[0, 6:, :3] = -2.0
    assert "The strongest evidence against it sits in the lower left" in ex.where_caption(heat, "7")
    assert "No pixel pushed" in ex.where_caption(-np.abs(heat), "7")


def test_explain_picture_and_confident_mistakes(digits_cnn):
    pm, X, y, background = digits_cnn
    one = ex.explain_picture(pm, X[0], truth=y[0], chosen="3")
    assert len(one.top3) == 3 and abs(sum(p for _c, p in one.top3)) <= 1.0 + 1e-9
    assert set(one.maps) == {one.predicted, "3"} or one.predicted == "3"
    assert one.caption().startswith(f"The network says '{one.predicted}'")
    mistakes = ex.confident_mistakes(pm, X, y, k=4)
    assert all(m.truth != m.predicted for m in mistakes)
    assert [m.confidence for m in mistakes] == sorted((m.confidence for m in mistakes), reverse=True)
    value_range = (0.0, 16.0)
    lime = ex.lime_regions(pm, X[0], one.predicted, samples=200)
    fig = image_charts.picture_figure(one, value_range, lime)
    panels = 2 + (one.chosen != one.predicted) + 1                  # picture, predicted, chosen, LIME
    kinds = [t.type for t in fig.data]
    assert kinds.count("image") == panels and kinds.count("heatmap") == panels - 1
    assert image_charts.mistakes_figure(mistakes, value_range).data
    assert image_charts.top_classes_figure(one).data[0].type == "bar"


def test_a_run_without_a_cnn_is_refused_with_a_message():
    from core.common import ModelDeckError
    from core.models import ModelSpec
    from core.train import train_model
    trained = train_model(load_dataset("builtin:iris"), ModelSpec.create("linear"), PrepOptions(), cv_folds=0)
    with pytest.raises(ModelDeckError, match="convolutional network"):
        ex.picture_model(trained.pipeline)
