"""The model card (issue 16): one HTML page per run with the user's intended use, data fate, scores with intervals,
where it fails, drift status, serving cost and limits; its short version in the report; the CLI and the pages."""
from __future__ import annotations

import html
import re

import pytest

from core.compress import Throughput, save_throughput, serving_cost
from core.data import load_dataset
from core.models import ModelSpec
from core.predict import drift_report, load_drift_check, save_drift_check
from core.runs import RunStore, save_trained
from core.share import build_card, build_report, load_intended_use, save_intended_use
from core.train import train_model

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def _text(page: str) -> str:
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture()
def churn_run(fresh_home):
    dataset = load_dataset("builtin:churn")
    trained = train_model(dataset, ModelSpec.create("linear"), cv_folds=0)
    return save_trained(RunStore(), trained, dataset.name), dataset


def test_card_says_what_is_missing_before_anything_is_recorded(churn_run):
    run, _dataset = churn_run
    text = _text(build_card(run.id))
    for title in ("The model", "Intended use", "The data and what became of each column", "How good it is",
                  "What drives it", "Where it fails", "Has new data drifted?", "Limits"):
        assert title in text, title
    assert "Not stated yet." in text and "No drift check recorded yet" in text and "Not explained yet" in text
    assert "customer_id" in text and "left out" in text                       # the fate of every column
    assert re.search(r"accuracy \d+\.\d% \d+\.\d% to \d+\.\d%", text)          # the score with its interval
    assert "synthetic data" in text


def test_card_quotes_intended_use_drift_and_serving_cost(churn_run):
    run, dataset = churn_run
    store = RunStore()
    save_intended_use(run.id, "ranking customers for a retention call", "pricing decisions", store)
    assert load_intended_use(run.id, store) == {"intended_use": "ranking customers for a retention call",
                                                "not_for": "pricing decisions"}
    new = dataset.frame.sample(500, random_state=0)
    new["monthly_charges"] *= 1.4
    numeric = ["tenure_months", "monthly_charges"]
    record = save_drift_check(store.folder(run.id), drift_report(dataset.frame, new, numeric, ["contract"]), "new.csv")
    assert load_drift_check(store.folder(run.id)) == record and record["moved"] == ["monthly_charges"]
    save_throughput(run.id, [Throughput("original", 1, 5000.0, 800.0, 100, "test CPU"),
                             Throughput("original", 64, 90000.0, 20000.0, 100, "test CPU")], store)
    text = _text(build_card(run.id))
    assert "For: ranking customers for a retention call" in text and "Not for: pricing decisions" in text
    assert f"Latest check ({record['checked_at']}, 500 new rows): 1 of 3 columns moved: 'monthly bill (USD)'" in text
    assert serving_cost("original", 800.0).sentence() in text           # one variant: its own sentence
    report = _text(build_report(run.id))
    assert "Model card" in report and "For: ranking customers for a retention call" in report
    assert "The original model serves 1 million predictions a day on one core for about $36.50 a month" in report


def test_card_command_writes_the_page(churn_run, tmp_path, capsys):
    from core.__main__ import main
    run, _dataset = churn_run
    assert main(["card", "--run", run.id, "--out", str(tmp_path / "card.html")]) == 0
    assert "Model card:" in (tmp_path / "card.html").read_text() and "wrote" in capsys.readouterr().out


def test_runs_page_saves_the_intended_use_and_offers_the_card(churn_run):
    from tests.test_pages import assert_clean, open_page
    run, _dataset = churn_run
    at = open_page("pages/runs.py", run=run.id)
    assert_clean(at)
    next(t for t in at.text_area if t.key == f"card_use_{run.id}").input("monthly retention calls")
    next(b for b in at.button if b.key == f"card_save_{run.id}").click().run()
    assert_clean(at)
    assert load_intended_use(run.id, RunStore())["intended_use"] == "monthly retention calls"
    assert any(d.proto.label == "Download the model card (HTML)" for d in at.get("download_button"))


def test_saving_the_card_passes_the_permission_check(churn_run, monkeypatch):
    from core.common import ModelDeckError
    from tests.test_pages import open_page
    import ui.runs
    run, _dataset = churn_run
    asked = []

    def refuse(run_id=None, **_kwargs):
        asked.append(run_id)
        raise ModelDeckError("This is a read-only shared view.")
    monkeypatch.setattr(ui.runs, "require_write", refuse)
    at = open_page("pages/runs.py", run=run.id)
    next(t for t in at.text_area if t.key == f"card_use_{run.id}").input("anything")
    next(b for b in at.button if b.key == f"card_save_{run.id}").click().run()
    assert not at.exception and asked == [run.id] and "read-only" in at.error[0].value
    assert load_intended_use(run.id, RunStore())["intended_use"] == ""
