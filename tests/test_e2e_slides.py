"""The slides in Chromium (issue 17): the downloaded deck opens with no network, every slide draws its chart and fits
the screen at 1400×900 and 1920×1080, the keys move between slides; the app's presentation mode fits the same
screens with the sidebar and toolbar hidden, and the arrow keys and the space bar move it.

Screenshots of every slide at both sizes go to /tmp/slides/ (MODELDECK_SLIDES_DIR) for people to look at.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_e2e_browser import app, browser, wait_for_app  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

SIZES = ((1400, 900), (1920, 1080))
SHOTS = Path(os.environ.get("MODELDECK_SLIDES_DIR", "/tmp/slides"))

_SLIDE_STATE = """() => {
  const on = document.querySelector('.slide.on');
  const svg = on && on.querySelector('.js-plotly-plot svg.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0, bottom: 0};
  return {index: document.body.getAttribute('data-slide'), count: document.querySelectorAll('.slide').length,
          drawn: !!(on && on.querySelector('.js-plotly-plot .trace, .js-plotly-plot g.hm, .js-plotly-plot .scatterlayer')),
          width: box.width, height: box.height, bottom: box.bottom, innerHeight: window.innerHeight,
          overflow: document.documentElement.scrollHeight - window.innerHeight,
          notes: on ? getComputedStyle(on.querySelector('.notes')).display : ''};
}"""


@pytest.fixture(scope="module")
def deck(module_home):
    """A story's slides written as one HTML file (its own run store)."""
    from core.share import run_story, write_deck
    story = run_story("builtin:breast_cancer")
    return write_deck(story, module_home / "slides.html"), story


@pytest.mark.timeout(300)
@pytest.mark.parametrize("width, height", SIZES)
def test_deck_opens_offline_and_every_slide_shows_a_chart(browser, deck, width, height):  # noqa: F811
    path, story = deck
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
    asked = []
    context.on("request", lambda request: asked.append(request.url))
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        page.wait_for_function("window.Plotly !== undefined")
        for i in range(len(story.steps)):
            page.wait_for_timeout(400)
            state = page.evaluate(_SLIDE_STATE)
            assert state["index"] == str(i + 1) and state["count"] == len(story.steps), state
            assert state["drawn"] and state["width"] > 200 and state["height"] > 150, (i, state)
            assert state["overflow"] <= 0 and state["bottom"] <= state["innerHeight"], (i, state)   # above the fold
            page.screenshot(path=str(SHOTS / f"deck_{width}x{height}_{i + 1}_{story.steps[i].key}.png"))
            page.keyboard.press("ArrowRight" if i % 2 == 0 else " ")
        page.keyboard.press("Home")
        assert page.evaluate(_SLIDE_STATE)["index"] == "1"
        page.keyboard.press("n")
        assert page.evaluate(_SLIDE_STATE)["notes"] == "block"
        page.keyboard.press("ArrowLeft")
        assert page.evaluate(_SLIDE_STATE)["index"] == "1"
        assert [u for u in asked if not u.startswith(("file:", "data:", "blob:"))] == []
    finally:
        context.close()


@pytest.mark.timeout(400)
def test_presentation_mode_fits_the_screen_and_follows_the_keys(browser, app):  # noqa: F811
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{app.url}/")
        wait_for_app(page)
        page.get_by_role("button", name="Run the one-minute story").click()
        wait_for_app(page, timeout_ms=180_000)
        page.get_by_role("button", name="Presentation mode").click()
        wait_for_app(page)
        total = int(page.locator(".md-where").inner_text().split("/")[1].split("·")[0])
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.keyboard.press("Escape")          # leave and come back at the first slide for each size
            wait_for_app(page)
            page.get_by_role("button", name="Presentation mode").click()
            wait_for_app(page)
            for i in range(total):
                assert f"{i + 1} / {total}" in page.locator(".md-where").inner_text()
                assert page.locator("[data-testid=stSidebar]").is_hidden()
                assert page.locator("[data-testid=stToolbar]").count() == 0 or \
                    page.locator("[data-testid=stToolbar]").is_hidden()
                chart = page.locator("[data-testid=stPlotlyChart] svg.main-svg").first
                chart.wait_for(state="visible")
                box = page.get_by_role("button", name="Next").bounding_box()
                assert box and box["y"] + box["height"] <= height, (i, box)          # the controls are on screen
                lowest = """() => Math.max(...[...document.querySelectorAll(
                    '[data-testid=stPlotlyChart], .md-sentence')].map(e => e.getBoundingClientRect().bottom))"""
                try:    # elements of the page before the switch linger until the rerun has drawn the slide
                    page.wait_for_function(f"({lowest})() <= {height}", timeout=20_000)
                except PlaywrightTimeout:
                    pass
                assert page.evaluate(lowest) <= height, (width, i, page.evaluate(lowest))
                page.screenshot(path=str(SHOTS / f"app_{width}x{height}_{i + 1}.png"))
                if i < total - 1:
                    page.keyboard.press("ArrowRight" if i % 2 == 0 else "Space")
                    wait_for_app(page)
            page.keyboard.press("ArrowLeft")
            wait_for_app(page)
            assert f"{total - 1} / {total}" in page.locator(".md-where").inner_text()
    finally:
        context.close()
