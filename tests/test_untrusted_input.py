"""Untrusted input (issue 12): names from uploaded files are escaped wherever HTML is built (presentation mode, the
report, the model card), the recommender's upload key covers every uploaded byte, and uploads have stated limits."""
from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


class Markup(HTMLParser):
    """Every start tag, its attributes, and the text inside each <script>."""

    def __init__(self):
        super().__init__()
        self.tags, self.handlers, self.scripts, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.lower().startswith("on")]
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def assert_inert(html_text: str) -> None:
    """No tag or handler that came from the data: no <img>, no on… attribute, no script that is just our alert."""
    markup = Markup()
    markup.feed(html_text)
    assert "img" not in markup.tags and not markup.handlers
    assert not any(s.strip() in ("alert(1)", "alert(2)") for s in markup.scripts)


@pytest.fixture()
def hostile_run(fresh_home):
    """A run on an uploaded table whose column name and class labels are markup."""
    from core.data import make_dataset, save_labels, save_upload
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({SCRIPT: x, "other": rng.normal(size=300),
                          "label": np.where(x + rng.normal(scale=0.5, size=300) > 0, IMG, "plain")})
    dataset = make_dataset(frame, "label", task="classification", name=f"data {SCRIPT}", description=f"from {IMG}")
    dataset.key = save_upload(dataset)
    save_labels(dataset.key, {"other": {"label": IMG, "unit": SCRIPT}}, list(frame.columns))
    run = save_trained(RunStore(), train_model(dataset, ModelSpec.create("linear"), cv_folds=3), dataset.name,
                       name=f"run {SCRIPT}")
    return run


def test_the_report_and_the_model_card_show_names_as_text(hostile_run):
    from core.runs import RunStore
    from core.share import build_card, build_report
    report = build_report(hostile_run.id, RunStore())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert_inert(report)
    card = build_card(hostile_run.id, RunStore())
    assert "&lt;script&gt;" in card
    assert_inert(card)


def test_presentation_mode_shows_names_as_text():
    from streamlit.testing.v1 import AppTest

    def app():
        import streamlit as st

        from core.share import Story
        from core.share._story import StoryStep
        from ui.story import show_presentation
        img, script = "<img src=x onerror=alert(2)>", "<script>alert(1)</script>"     # (the function runs alone)
        st.session_state["story"] = Story("data", [StoryStep("data", f"The {img}", f"big {script}", f"says {img}")])
        show_presentation(st.session_state["story"])

    at = AppTest.from_function(app, default_timeout=30).run()
    assert not at.exception
    slide = next(m.value for m in at.markdown if "<div class='md-big'>" in m.value)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in slide and "&lt;img src=x" in slide
    assert_inert(slide)


# ---------------------------------------------------------------- the recommender's upload key
EVENTS = b"user,item,rating\n" + b"\n".join(f"u{i % 9},i{i % 13},{1 + i % 5}".encode() for i in range(120))


def _items(title_suffix: str) -> bytes:
    return ("item,title,genres\n" + "\n".join(f"i{i},Film {i}{title_suffix},Drama" for i in range(13))).encode()


def test_the_recommender_upload_key_covers_every_uploaded_byte():
    from core.recsys import interactions_from_upload
    base = interactions_from_upload(EVENTS, "events.csv", _items(""), "items.csv").key
    other_items = interactions_from_upload(EVENTS, "events.csv", _items(" (restored)"), "items.csv").key
    no_items = interactions_from_upload(EVENTS, "events.csv").key
    renamed = interactions_from_upload(EVENTS, "ratings.csv", _items(""), "items.csv").key
    stamped = interactions_from_upload(EVENTS.replace(b"rating\n", b"rating\n", 1) + b"\n", "events.csv",
                                       _items(""), "items.csv").key
    assert len({base, other_items, no_items, renamed, stamped}) == 5
    assert interactions_from_upload(EVENTS, "events.csv", _items(""), "items.csv").key == base


# ---------------------------------------------------------------- limits
def test_upload_limits_are_set_and_stated():
    from core.data import MAX_UPLOAD_BYTES, upload_limits
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_UPLOAD_BYTES
    assert "rows" in upload_limits() and "columns" in upload_limits() and "characters" in upload_limits()
    from tests.test_pages import open_page
    at = open_page("pages/data.py")
    assert any(upload_limits() in u.label for u in at.file_uploader)        # stated where the file is chosen


@pytest.mark.parametrize("case, data, message", [
    ("too many columns", ",".join(f"c{i}" for i in range(2_500)).encode() + b"\n" + b",".join([b"1"] * 2_500),
     "at most 2,000"),
    ("a huge cell", b"a,b\n1," + b"x" * 12_000 + b"\n2,y\n", "at most 10,000"),
])
def test_reading_stops_at_the_limits(case, data, message):
    from core.common import ModelDeckError
    from core.data import read_csv
    with pytest.raises(ModelDeckError, match=message):
        read_csv(data, "big.csv")
