"""Image mode on every page, through Streamlit's AppTest (issue 13): the Data page's picture view and zip upload,
the Train page's CNN and augmentation comparison, and a CNN run on Explain, Metrics, Compress and the other pages."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from tests.test_pages import assert_clean, button, open_page

FACES = "images:faces"


def picture_zip() -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for label in ("circle", "square"):
            for i in range(4):
                png = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8), "L").save(png, format="PNG")
                archive.writestr(f"shapes/{label}/{i}.png", png.getvalue())
    return buffer.getvalue()


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_data_page_shows_the_pictures_and_reads_a_zip_of_class_folders(fresh_home):
    at = open_page("pages/data.py", data=FACES)
    assert_clean(at)
    assert metric(at, "Pictures") == "200" and metric(at, "Size") == "25×25 px"
    assert len(at.get("plotly_chart")) >= 5          # samples, balance, pixels, average pictures, augmentation preview
    assert any("200 pictures in 2 classes" in c.value for c in at.caption)
    uploader = next(u for u in at.file_uploader if u.key == "image_zip")
    uploader.upload("shapes.zip", picture_zip(), "application/zip")
    at.run()
    assert_clean(at)
    assert any("Found 8 pictures in 2 classes" in c.value for c in at.caption)
    assert any("resized to 32×32" in i.value for i in at.info)
    button(at, "image_zip_use").click().run()
    assert_clean(at)
    assert str(at.query_params["data"]).strip("[]'").startswith("images:")
    assert metric(at, "Pictures") == "8" and metric(at, "Size") == "32×32 px"
    assert not [u for u in at.file_uploader if u.key == "image_zip"]          # the used box was replaced by an empty one
    # a file that is not a zip gets its message
    uploader = next(u for u in at.file_uploader if u.key == "image_zip_1")
    assert uploader.value is None
    uploader.set_value(("oops.zip", b"name,value\n1,2\n", "application/zip")).run()
    assert not at.exception
    assert any("is not a zip archive" in e.value for e in at.error)


def test_train_page_trains_a_cnn_and_compares_augmentation(fresh_home):
    at = open_page("pages/train.py", data=FACES)
    assert_clean(at)
    processes = next(n for n in at.number_input if n.key == "train_processes")   # the CNN trains over processes
    assert processes.value == 1 and "DistributedDataParallel" in processes.help
    next(n for n in at.number_input if n.key == "img_cnn_epochs").set_value(3).run()
    button(at, "img_train_go").click().run()
    assert_clean(at)
    assert str(at.query_params["run"]).strip("[]'")
    assert any("Convolutional network (PyTorch CNN)" in s.label for s in at.status)
    # augmenting the one-model training reads the strengths set in the comparison tab (one set of widgets)
    next(c for c in at.checkbox if c.key == "img_train_use_aug").check().run()
    assert_clean(at)
    assert any("random draw per epoch: shift ≤10%, rotation ≤10°" in c.value for c in at.caption)
    next(s for s in at.slider if s.key == "img_aug_epochs").set_value(5).run()
    button(at, "img_aug_go").click().run()
    assert_clean(at)
    verdict = [c.value for c in at.caption if c.value.startswith("Did augmentation")]
    assert verdict and "validation pictures" in verdict[0] and "measured once" in verdict[0]


@pytest.fixture()
def cnn_run(fresh_home):
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_dataset(FACES)
    trained = train_model(ds, ModelSpec.create("cnn", seed=0, epochs=4), PrepOptions(), cv_folds=0)
    return save_trained(RunStore(), trained, ds.name)


def test_explain_page_draws_heat_maps_on_the_picture(cnn_run):
    at = open_page("pages/explain.py", data=FACES, run=cnn_run.id)
    assert_clean(at)
    kinds = {t["type"] for fig in at.get("plotly_chart") for t in json.loads(fig.proto.spec)["data"]}
    assert {"image", "heatmap"} <= kinds
    captions = [c.value for c in at.caption]
    assert any(c.startswith("The network says") for c in captions)
    assert any("LIME (a grid of 4×4-pixel cells" in c for c in captions)
    assert any("add up to each picture's logit minus the logit of the blank picture" in c for c in captions)          # the SHAP cross-check tab
    assert any("agree" in c and "correlation" in c for c in captions)


@pytest.mark.parametrize("page", ["pages/metrics.py", "pages/predict.py", "pages/compress.py", "pages/advice.py", "pages/runs.py",
                                  "pages/home.py", "pages/recommend.py"])
def test_a_cnn_run_opens_on_every_other_page(cnn_run, page):
    at = open_page(page, data=FACES, run=cnn_run.id)
    assert_clean(at)


def test_predict_page_classifies_an_uploaded_picture(cnn_run):
    from PIL import Image
    at = open_page("pages/predict.py", data=FACES, run=cnn_run.id)
    assert_clean(at)
    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (50, 40), dtype=np.uint8), "L").save(png, format="PNG")
    next(u for u in at.file_uploader if u.key == "predict_picture").upload("me.png", png.getvalue(), "image/png")
    at.run()
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert any("is 40×50 pixels; it was resized to 25×25" in c for c in captions)
    assert any(c.startswith("The network says") for c in captions)


def test_tune_searches_the_cnn_on_pictures_and_trains_the_best(fresh_home):
    from core import tune
    from core.runs import RunStore
    from tests.test_tune_page import set_number, wait_done
    at = open_page("pages/tune.py", data="builtin:digits")
    assert_clean(at)
    assert any("tunes the convolutional network (CNN) by default" in i.value for i in at.info)
    assert next(s for s in at.selectbox if s.key == "tune_family").value == "cnn"
    for key, value in (("tune_budget", 2), ("tune_folds", 2), ("tune_workers", 1)):
        set_number(at, key, value)
    assert any(c.value.startswith("2 trials of 7 tuned setting(s)") and "median pruner" in c.value
               for c in at.caption)
    button(at, "tune_start").click().run()
    assert_clean(at)
    name = at.session_state["study"]
    wait_done([name], timeout=180)
    status = tune.study_status(name)
    assert status.config.family == "cnn" and status.n_complete + status.n_pruned == 2 and status.n_failed == 0
    assert 2 <= status.best.params["epochs"] <= 10 and 4 <= status.best.params["width"] <= 32
    assert status.best.value > 0.3                  # cross-validated accuracy: the CNN learned (chance is 0.1)
    at.run()
    assert_clean(at)
    assert next(m for m in at.metric if m.label == "Trials done").value == "2 / 2"
    button(at, "tune_train_best").click().run()
    assert_clean(at)
    run = RunStore().list()[0]
    assert run.spec["family"] == "cnn" and run.spec["params"]["width"] == status.best.params["width"]
    assert run.status == "done"


