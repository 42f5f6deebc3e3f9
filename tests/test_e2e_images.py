"""Browser test for pictures (issue 13): upload a small generated zip of class folders on the Data page, train a CNN
on the Train page, and reach a heat map drawn over a picture on the Explain page, in Chromium through Playwright.

Uses the server and browser fixtures of tests/test_e2e_browser.py (one app per module, empty run store); screenshots
go to `screenshots/e2e_images_<step>.png`. Run alone with `python -m pytest tests/test_e2e_images.py -q -s`.
"""
from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest

from tests.test_e2e_browser import (TRAIN_TIMEOUT_MS, _new_page, app, assert_no_errors, browser,  # noqa: F401
                                    click_sidebar_link, drawn_plotly_charts, log, metric_value, on_failure_show,
                                    shoot, wait_for_app)

pytestmark = pytest.mark.e2e


def stripes_zip(per_class: int = 10, side: int = 20) -> bytes:
    """Two classes a CNN can tell apart: horizontal and vertical stripes, with noise."""
    from PIL import Image
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for label, axis in (("horizontal", 0), ("vertical", 1)):
            for i in range(per_class):
                stripes = (np.arange(side) // 3 % 2 * 200).astype(float)
                picture = np.repeat(stripes[:, None] if axis == 0 else stripes[None, :], side, axis=1 - axis)
                picture = np.clip(picture + rng.normal(0, 30, (side, side)), 0, 255).astype(np.uint8)
                png = io.BytesIO()
                Image.fromarray(picture, "L").save(png, format="PNG")
                archive.writestr(f"{label}/{i:02d}.png", png.getvalue())
    return buffer.getvalue()


def test_upload_pictures_train_a_cnn_and_see_a_heat_map(app, browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect
    context, page = _new_page(browser)
    try:
        with on_failure_show(page, app, "images_data"):
            page.goto(f"{app.url}/data")
            wait_for_app(page)
            page.get_by_text("Upload pictures (a zip with one folder per class)").click()
            zip_path = tmp_path / "stripes.zip"
            zip_path.write_bytes(stripes_zip())
            uploader = page.get_by_test_id("stFileUploader").filter(has_text="Zip file")
            uploader.locator("input[type=file]").set_input_files(str(zip_path))
            wait_for_app(page)
            expect(page.get_by_text(re.compile(r"Found 20 pictures in 2 classes"))).to_be_visible()
            page.get_by_role("button", name="Use these pictures").click()
            wait_for_app(page)
            expect(metric_value(page, "Pictures")).to_have_text("20")
            assert_no_errors(page, "data")
            pictures = page.locator(".js-plotly-plot image")          # the sample grid is one picture (go.Image)
            expect(pictures.first).to_be_attached()
            log("zip uploaded and shown")
            page.wait_for_timeout(2000)          # let the frontend drop the previous data set's elements
            shoot(page, "images_data")
        with on_failure_show(page, app, "images_train"):
            click_sidebar_link(page, "Train", "train")
            page.get_by_role("button", name="Train", exact=True).click()
            wait_for_app(page, timeout_ms=TRAIN_TIMEOUT_MS)
            assert_no_errors(page, "train")
            expect(page.get_by_text(re.compile(r"Convolutional network \(PyTorch CNN\) trained in"))).to_be_visible()
            log("CNN trained")
        with on_failure_show(page, app, "images_explain"):
            click_sidebar_link(page, "Explain", "explain")
            assert_no_errors(page, "explain")
            expect(page.get_by_text(re.compile(r"^The network says"))).to_be_visible()
            # the heat map: a picture (go.Image) with a heatmap trace drawn over it in the same plot
            heat_maps = page.locator(".js-plotly-plot").filter(has=page.locator("image")).filter(
                has=page.locator("g.hm"))
            expect(heat_maps.first).to_be_visible()
            drawn_plotly_charts(page, 1, "explain")
            log("heat map drawn")
            shoot(page, "images_explain")
    finally:
        context.close()
