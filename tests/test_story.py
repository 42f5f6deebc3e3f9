"""The one-minute story (issues 15 and 17): its slides on every built-in data set (a picture and a number each, no
jargon, plain English by Flesch reading ease, headlines that agree with their numbers), the report's summary, the
`python -m core story` command, the home page's cards and presentation mode (AppTest), and on pictures (issue 13) the
picture story on digits and the picture sections of the report of its CNN run."""
from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from core.data import BUILTINS
from core.share import jargon_in
from core.share._words import ease
from tests.test_pages import PAGES, assert_clean, button, open_page

KEYS = ["data", "best_model", "how_good", "why", "smaller", "cost", "advice"]
READING_EASE = 60


def figure_text(fig) -> str:
    """Every word a figure shows: titles, axis titles, tick labels of categories, names, bar texts, annotations."""
    found = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("text", "name", "x", "y", "ticktext", "hovertemplate"):
            found.append(node)
    walk(fig.to_dict())
    return " ".join(found)


def slide_words(step) -> str:
    """What a slide shows or says in presentation mode (the technical statement is one click away, not here)."""
    return " ".join([step.title, step.big, step.number, step.number_label, step.sentence, *step.notes,
                     figure_text(step.figure) if step.figure is not None else ""])


@pytest.fixture(scope="module")
def stories(module_home):
    """The story on every built-in table, in one private run store."""
    from core.share import run_story
    out = {}
    for name in BUILTINS:
        said = []
        out[name] = run_story(f"builtin:{name}", progress=lambda f, m="", *_: said.append(m))
        out[name].progress_messages = said       # what the progress bar showed while it ran
    return out


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_slide_has_a_picture_a_number_and_plain_words(stories, name):
    story = stories[name]
    keys = [s.key for s in story.steps]
    assert [k for k in KEYS if k in keys] == keys and {"data", "best_model", "how_good", "why", "smaller",
                                                         "advice"} <= set(keys), keys
    for step in story.steps:
        assert step.figure is not None and step.figure.data, (name, step.key)
        assert step.number and step.number_label and step.big and step.sentence and step.notes, (name, step.key)
        assert step.technical and step.page.startswith("pages/"), (name, step.key)
        assert not jargon_in(slide_words(step)), (name, step.key, jargon_in(slide_words(step)), slide_words(step))
    text = " ".join(f"{s.big} {s.sentence}" for s in story.steps)
    assert ease(text) >= READING_EASE, (name, ease(text), text)
    said = " ".join(story.progress_messages)
    assert story.progress_messages and not jargon_in(said), jargon_in(said)
    assert story.seconds > 0 and all(v >= 0 for v in story.timings.values())
    assert {"best_model", "why"} <= set(story.timings)


@pytest.mark.parametrize("name", list(BUILTINS))
def test_headlines_agree_with_their_numbers(stories, name):
    from core.compress import load_result, story_versions
    story = stories[name]
    how = story.step("how_good")
    if how.number.endswith("/ 100"):
        right = int(how.number.split("/")[0])
        assert f"Right {right} times out of 100" in how.big
        icons = {t.name: len(t.x) for t in how.figure.data}
        assert sum(icons.values()) == 100
        assert sum(n for label, n in icons.items() if "wrong" not in label and "missed" not in label
                   and "false" not in label) == right
    smaller = story.step("smaller")
    table = load_result(story.run_id)
    if table is None:
        assert smaller.big.startswith("Already small")
        return
    fastest, smallest = story_versions(table)
    after = fastest if fastest is not table.rows[0] else smallest
    if after is None:
        return
    before = table.rows[0]
    speed = before["b1_ms"] / after["b1_ms"]
    if speed < 1 / 1.1:
        assert "faster" not in smaller.big and "slower" in smaller.big, (smaller.big, speed)
    if speed >= 1.1:
        assert "faster" in smaller.big
    assert ("smaller" in smaller.big) == (before["bytes"] / after["bytes"] >= 1.1)
    assert after.get("shap_rank_corr") is not None           # "same reasons" was checked on the version shown
    assert f"{round(after['agreement'] * table.test_rows)} of {table.test_rows}" in smaller.sentence or \
        table.task != "classification"


def test_the_story_chooses_without_peeking(stories):
    story = stories["breast_cancer"]
    contenders = story.step("best_model")
    kept = [t for t in contenders.figure.data[0].y if t.startswith("✓")]
    assert len(kept) == 1
    assert "set aside played no part" in contenders.sentence
    assert "cross-validation" in contenders.technical


def test_the_report_opens_with_the_same_slides(stories):
    from core.share import build_report, run_slides
    story = stories["breast_cancer"]
    report = build_report(story.run_id)
    assert report.index("The story on one page") < report.index("In plain words")
    stored = run_slides(story.run_id)
    assert [s.key for s in stored] == [s.key for s in story.steps]
    assert [s.big for s in stored][:4] == [s.big for s in story.steps][:4]
    assert "md-logo" in report and "#0072B2" in report            # the house look


def test_cli_story_prints_each_slide_with_seconds(tmp_path, monkeypatch, capsys):
    from core.__main__ import main
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path))
    deck = tmp_path / "deck.html"
    assert main(["story", "--dataset", "iris", "--json", "--deck", str(deck)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset_key"] == "builtin:iris" and out["seconds"] > 0
    for slide in out["slides"]:
        assert slide["headline"] and slide["text"] and slide["number"] and slide["has_picture"]
        assert isinstance(slide["seconds"], float)
    assert set(out["timings"]) >= {"data", "best_model", "why", "advice"}
    page = deck.read_text()
    assert page.count("class='slide'") == len(out["slides"]) and "Plotly" in page and "http" not in page.split(
        "<script>")[0]


# ---------------------------------------------------------------- the home page
def test_home_story_runs_end_to_end_and_presents(fresh_home):
    from core.runs import RunStore
    at = open_page("pages/home.py")
    assert not jargon_in(" ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown))
    button(at, "home_story").click().run()
    assert_clean(at)
    story = at.session_state["story"]
    n = len(story.steps)
    assert [s.key for s in story.steps][:4] == ["data", "best_model", "how_good", "why"]
    run = RunStore().get(story.run_id)
    assert run.status == "done" and run.name.startswith("Demo:")
    assert any("times out of 100" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == n
    assert any(b.label == "Download the slides" for b in at.get("download_button"))
    button(at, "home_present").click().run()
    assert_clean(at)

    def where() -> str:
        return next(m.value for m in at.markdown if "class='md-where'" in m.value)

    assert f"1 / {n} · The data" in where() and len(at.get("plotly_chart")) == 1
    button(at, "present_next").click().run()
    assert f"2 / {n} · The contenders" in where()
    button(at, "present_space").click().run()                    # the space bar's button
    assert f"3 / {n}" in where()
    button(at, "present_prev").click().run()
    assert f"2 / {n}" in where()
    assert button(at, "present_next").proto.shortcut and button(at, "present_prev").proto.shortcut
    notes = " ".join(m.value for m in at.markdown if m.value.startswith("- "))
    assert "learning rows" in notes and not jargon_in(notes)
    for _ in range(n):
        button(at, "present_next").click().run() if not button(at, "present_next").disabled else None
    assert f"{n} / {n}" in where() and button(at, "present_next").disabled
    button(at, "present_exit").click().run()
    assert_clean(at)
    assert not at.session_state["present"]
    assert at.title and at.title[0].value == "ModelDeck"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_a_caption_in_plain_words(page, fresh_home):
    """The first screen's sentence on what a page is for has no jargon (the page's tabs may name the methods)."""
    at = open_page(page)
    first = at.caption[0].value if at.caption else ""
    assert first and not jargon_in(first), (page, jargon_in(first), first)


# ---------------------------------------------------------------- pictures (issue 13)
def test_the_story_on_digits_tells_a_picture_story_with_numbers(stories):
    story = stories["digits"]
    from core.runs import RunStore
    from core.share._story import BOARD_FILE
    keys = [s.key for s in story.steps]
    assert keys[:4] == ["data", "best_model", "how_good", "why"] and keys[-1] == "advice"
    assert all(re.search(r"\d", s.number) for s in story.steps), [(s.key, s.number) for s in story.steps]
    data = story.step("data")
    assert data.big.startswith("1,797 images, 8 × 8 pixels each")
    assert any(isinstance(t, go.Image) for t in data.figure.data)            # sample pictures, not bars
    board = json.loads((RunStore().folder(story.run_id) / BOARD_FILE).read_text())["contenders"]
    assert {c["family"] for c in board} == {"linear", "mlp", "cnn"}                 # picture models only, no trees
    winner = max(board, key=lambda c: c["cv_mean"])                                  # chosen by cross-validation
    assert RunStore().get(story.run_id).spec["family"] == winner["family"] and winner["chosen"]
    how = story.step("how_good")
    assert int(how.number.split(" / ")[0]) >= 90
    why = story.step("why")
    if winner["family"] != "cnn":
        return                                                                       # a table-style "why" (SHAP)
    assert why.big.startswith("It looks hardest at the ") and why.big.endswith("of each picture.")
    share = float(why.number.rstrip("%")) / 100
    heat = np.asarray(why.figure.data[0].z, dtype=float) / 100               # the pixel shares drawn on the slide
    assert heat.shape == (8, 8) and heat.sum() == pytest.approx(1.0, abs=1e-6)
    assert 0.1 <= share <= 1.0 and "Integrated Gradients" in why.technical


def test_the_report_of_the_picture_story_shows_the_pictures(stories):
    story = stories["digits"]
    from core.share import build_report
    text = build_report(story.run_id)
    sections = re.findall(r"<h2>(.*?)</h2>", text)
    assert sections.index("The data") < sections.index("The pictures") < sections.index("How good is the model?")
    assert "random pictures of each class (8×8, grey)" in text                    # the sample grid per class
    assert "Predicted class" in text and "True class" in text                 # the confusion matrix
    assert "The story on one page" in sections
    assert text.count("Plotly.newPlot") >= 6