"""Plain words for the story (issue 17), without training anything: the jargon list, numbers for people, counts out of
100, headlines that never contradict their numbers, the checklist, and one theme shared by app, charts and slides."""
from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import pytest

from core.common.charts import BAD, GOOD, PALETTE
from core.share import JARGON, jargon_in
from core.share._checks import checklist, plain_advice
from core.share._ship_slides import smaller_headline, speed_words
from core.share._words import fmt_ms, fmt_size, out_of_100, question_of

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the jargon list
@pytest.mark.parametrize("text, terms", [
    ("Mean |SHAP| push on the log-odds of 'malignant'", {"SHAP", "log[- ]odds"}),
    ("'student 16 distilled' against 'fp32 (ONNX Runtime)'", {"students?", "distill(ation|ed)?", "fp32|fp16|bf16|float32|float16", "ONNX( Runtime)?"}),
    ("int8 dynamic quantization, p90 latency 0.2 ms", {"int8", "quanti[sz](ation|ed|e)", "p50|p90|p99|percentile", "latency"}),
    ("ROC AUC 0.98, F1 0.95 after 60 epochs", {"ROC", "AUC", "F1", "epochs?"}),
    ("Chosen by 5-fold cross-validation; LIME agrees; logit scale", {"cross[- ]validat(ion|ed)|folds?", "LIME", "logits?"}),
])
def test_jargon_is_found(text, terms):
    assert terms <= set(jargon_in(text)), jargon_in(text)


@pytest.mark.parametrize("text", [
    "Right 97 times out of 100 on patients it never saw.",
    "9.7× smaller, answers in 0.04 ms — a bit slower than the original's 0.01 ms, still instant for a person.",
    "A small network trained to imitate the big one keeps the same answers.",   # the translations themselves
    "The studio rocked; a flimsy folder; students' union",                         # near misses are not terms
])
def test_plain_words_pass(text):
    if "students'" in text:
        assert jargon_in(text) == ["students?"]          # a whole word: still the term (on purpose)
        return
    assert jargon_in(text) == []


def test_every_term_of_the_issue_is_listed_with_a_translation():
    for term in ("SHAP", "LIME", "log-odds", "logit", "AUC", "ROC", "F1", "fp32", "int8", "ONNX", "quantization",
                 "distillation", "student", "epoch", "p90"):
        assert jargon_in(term), term
    assert all(words and not jargon_in(words) for words in JARGON.values()), \
        {t: w for t, w in JARGON.items() if jargon_in(w)}


# ---------------------------------------------------------------- numbers for people
def test_counts_out_of_100_add_up_and_keep_rare_outcomes():
    assert out_of_100({"a": 39, "b": 3, "c": 1, "d": 71}) == {"a": 34, "b": 3, "c": 1, "d": 62}
    for counts in ({"x": 1, "y": 999}, {"x": 1, "y": 1, "z": 1}, {"a": 5}, {"a": 0, "b": 7}):
        scaled = out_of_100(counts)
        assert sum(scaled.values()) == 100
        assert all(scaled[k] >= 1 for k, v in counts.items() if v > 0)


def test_units_people_know():
    assert fmt_ms(0.0123) == "0.012 ms" and fmt_ms(0.4) == "0.4 ms" and fmt_ms(2.46) == "2.5 ms"
    assert fmt_ms(123.4) == "123 ms"
    assert fmt_size(820) == "820 bytes" and fmt_size(7_900) == "7.7 KB" and fmt_size(5_900_000) == "5.6 MB"
    assert question_of("569 biopsies described by 30 cell measurements; is the tumour malignant or benign?",
                       "diagnosis") == "Is the tumour malignant or benign?"
    assert question_of("My own table", "price") == "What is the price?"


# ---------------------------------------------------------------- headlines never contradict their numbers
def test_a_slower_compressed_model_is_never_called_faster():
    for size_x, speed_x in itertools.product((0.5, 0.95, 1.0, 1.05, 2.0, 9.7), (0.2, 0.5, 0.85, 0.95, 1.0, 1.08, 1.5, 4.3)):
        before = {"bytes": 10_000, "b1_ms": 0.01}
        after = {"bytes": 10_000 / size_x, "b1_ms": 0.01 / speed_x}
        head = smaller_headline(before, after)
        if speed_x < 1 / 1.1:
            assert "faster" not in head and "slower" in head, head
        if speed_x >= 1.1:
            assert "faster" in head and "slower" not in head, head
        if size_x < 1 / 1.1:
            assert "smaller" not in head and "larger" in head, head
        if size_x >= 1.1:
            assert "smaller" in head and "larger" not in head, head


def test_the_issue_example_reads_as_the_issue_asks():
    head = smaller_headline({"bytes": 22_400, "b1_ms": 0.0093}, {"bytes": 2_300, "b1_ms": 0.04})
    assert head.startswith("9.7× smaller") and "slower than the original's 0.0093 ms" in head
    assert "still instant for a person" in head
    slow, _ = speed_words(50.0, 400.0)
    assert "slower" in slow and "notice" in slow


# ---------------------------------------------------------------- the checklist
def test_checklist_marks_what_fired_and_keeps_unknown_rules():
    from core.share import Advice
    advice = [Advice("overfitting", "warning", "f", "a", {}), Advice("bare_code_labels", "info", "f", "a", {}),
              Advice("a_rule_added_later", "warning", "f", "a", {})]
    lines = checklist(advice, "classification", network=False)
    status = dict(lines)
    assert status["Learns patterns, not the rows by heart"] == "warn"
    assert status["No fact gives the answer away"] == "ok"
    assert "Stopped learning at the right time" not in status          # no network: the check does not apply
    assert [s for _c, s in lines][:2] == ["warn", "warn"]              # warnings first
    assert any("One more check needs a look" in c for c, _s in lines)
    finding, action = plain_advice(Advice("leakage_suspect", "critical", "", "", {"feature": "refund_date"}))
    assert "'refund_date'" in finding and "'refund_date'" in action and not jargon_in(finding + action)


# ---------------------------------------------------------------- one look for app, charts, slides and report
def test_theme_is_one_palette_everywhere():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["theme"]
    assert config["primaryColor"] == GOOD == PALETTE[0]
    assert config["chartCategoricalColors"] == list(PALETTE)
    assert GOOD != BAD
    from core.share._theme import CSS_VARS, LOGO, LOGO_ICON
    assert GOOD in CSS_VARS and BAD in CSS_VARS
    for path in (LOGO, LOGO_ICON):
        text = path.read_text()
        assert text.lstrip().startswith("<svg") and GOOD in text
    app = (REPO / "streamlit_app.py").read_text()
    assert "st.logo(" in app and "logo.svg" in app


def test_charts_take_the_house_palette_and_font():
    import plotly.graph_objects as go

    from core.common.charts import FONT, style
    fig = style(go.Figure(go.Bar(x=[1], y=[1])), "t")
    assert list(fig.layout.colorway) == list(PALETTE) and fig.layout.font.family == FONT
