"""Every page through Streamlit's AppTest: renders without exception, and its main widgets work."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/metrics.py", "pages/explain.py", "pages/tune.py",
         "pages/compress.py", "pages/recommend.py", "pages/advice.py", "pages/runs.py"]


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    if page != "pages/home.py":
        at.switch_page(page)
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def finish_jobs(at: AppTest, timeout: float = 90.0) -> AppTest:
    """Wait until every background job in the store has ended (their own processes), then rerun the page (the
    browser's polling fragment would)."""
    import time

    from core.runs import RunStore
    deadline = time.time() + timeout
    while any(not job.finished for job in RunStore().jobs()):
        assert time.time() < deadline, "a background job did not finish"
        time.sleep(0.2)
    return at.run()


def selectbox(at: AppTest, key: str):
    return next(s for s in at.selectbox if s.key == key)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_store(page, fresh_home):
    at = open_page(page)
    assert_clean(at)
    assert at.title, page


def test_data_page_profiles_and_switches_data_sets(fresh_home):
    at = open_page("pages/data.py")
    assert_clean(at)
    assert any(m.label == "Rows" and m.value == "569" for m in at.metric)
    assert len(at.get("plotly_chart")) >= 2
    selectbox(at, "data_select").select("builtin:churn").run()
    assert_clean(at)
    assert any(m.label == "Rows" and m.value == "3,020" for m in at.metric)
    assert at.query_params["data"] == ["builtin:churn"] or at.query_params["data"] == "builtin:churn"
    assert any("duplicate rows removed" in c.value for c in at.caption)


def test_data_page_cleaning_options_change_the_preview(fresh_home):
    at = open_page("pages/data.py", data="builtin:churn")
    before = [c.value for c in at.caption if c.value.startswith("Cleaning on the training split")]
    next(c for c in at.checkbox if c.key == "prep_drop_duplicates").uncheck().run()
    after = [c.value for c in at.caption if c.value.startswith("Cleaning on the training split")]
    assert_clean(at)
    assert before != after and "no duplicate rows removed" in after[0]


def test_upload_good_and_bad_csv(fresh_home):
    at = open_page("pages/data.py")
    csv = "a;b;label\n" + "\n".join(f"{i};{i % 7};{'x' if i % 3 else 'y'}" for i in range(60))
    at.file_uploader[0].upload("mine.csv", csv.encode("latin-1"), "text/csv")
    at.run()
    assert_clean(at)
    button(at, "upload_use").click().run()
    assert_clean(at)
    assert str(at.query_params["data"]).strip("[]'").startswith("upload:")
    assert any(m.label == "Rows" and m.value == "60" for m in at.metric)
    assert at.file_uploader[0].value is None and not [s for s in at.selectbox if s.key == "upload_target"]  # closed
    # a bad file gives a message, and the chosen data set is kept
    at.file_uploader[0].set_value(("bad.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "text/csv")).run()
    assert not at.exception
    assert at.error and "not a text file" in at.error[0].value


def test_train_one_model_saves_a_run_and_metrics_opens_it(fresh_home):
    at = open_page("pages/train.py")
    assert_clean(at)
    selectbox(at, "train_family").select("linear").run()
    button(at, "train_go").click().run()
    assert_clean(at)
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    assert any(m.label.startswith("Test") for m in at.metric)
    metrics = open_page("pages/metrics.py", run=run_id)
    assert_clean(metrics)
    assert len(metrics.get("plotly_chart")) >= 5
    assert any("right" in m.value for m in metrics.markdown)
    metrics.slider(key="metrics_threshold").set_value(0.8).run()
    assert_clean(metrics)
    assert any("At 0.80" in c.value for c in metrics.caption)
    assert any("most profitable threshold" in c.value for c in metrics.caption)
    assert any("better than picking rows at random" in c.value for c in metrics.caption)
    advice = open_page("pages/advice.py", run=run_id)
    assert_clean(advice)
    assert advice.get("download_button")


def test_leaderboard_and_optimizer_comparison(fresh_home):
    at = open_page("pages/train.py")
    next(m for m in at.multiselect if m.key == "board_models").set_value(["linear", "knn"]).run()
    button(at, "board_go").click().run()
    assert_clean(at)
    finish_jobs(at)
    assert_clean(at)
    assert any(c.value.startswith("Chosen:") and "cross-validation" in c.value for c in at.caption)  # issue 11
    next(n for n in at.number_input if n.key == "opt_mlp_epochs").set_value(5).run()
    next(m for m in at.multiselect if m.key == "opt_list").set_value(["sgd", "adam"]).run()
    button(at, "opt_go").click().run()
    finish_jobs(at)
    assert_clean(at)
    assert any("reached the lowest loss" in c.value for c in at.caption)


def test_runs_page_rename_and_delete(fresh_home):
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_builtin("iris")
    run = save_trained(RunStore(), train_model(ds, ModelSpec.create("linear"), cv_folds=0), ds.name)
    at = open_page("pages/runs.py", run=run.id)
    assert_clean(at)
    next(t for t in at.text_input if t.key == f"runs_name_{run.id}").input("renamed run").run()
    button(at, "runs_rename").click().run()
    assert RunStore().get(run.id).name == "renamed run"
    next(c for c in at.checkbox if c.key == f"runs_confirm_{run.id}").check().run()
    button(at, "runs_delete").click().run()
    assert_clean(at)
    assert RunStore().list() == []


def test_missing_run_in_link_gives_a_message(fresh_home):
    at = open_page("pages/metrics.py", run="doesnotexist")
    assert not at.exception
    assert any("not found" in w.value for w in at.warning)


def test_background_training_from_the_page(fresh_home):
    """A background job runs in its own process, writes progress to the store and ends 'done'."""
    import time

    from core.runs import RunStore
    at = open_page("pages/train.py")
    selectbox(at, "train_family").select("linear").run()
    next(c for c in at.checkbox if c.key == "train_bg_linear").check().run()
    button(at, "train_go").click().run()
    assert_clean(at)
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    deadline = time.time() + 90
    while time.time() < deadline and not RunStore().get(run_id).finished:
        time.sleep(0.5)
    run = RunStore().get(run_id)
    assert run.status == "done", run.error
    assert run.metrics["test"]["accuracy"] > 0.9 and run.pid and run.pid != __import__("os").getpid()
    at.run()
    assert any("finished" in s.value for s in at.success)


def test_shared_link_is_read_only(fresh_home):
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_builtin("iris")
    run = save_trained(RunStore(), train_model(ds, ModelSpec.create("linear"), cv_folds=0), ds.name)
    token = RunStore().create_share(run.id)
    at = open_page("pages/runs.py", share=token)
    assert_clean(at)
    assert button(at, "runs_delete").disabled and button(at, "runs_rename").disabled
    assert any("shared link" in c.value for c in at.caption)
    metrics = open_page("pages/metrics.py", share=token)
    assert_clean(metrics)
    assert any(run.name in h.value for h in metrics.subheader)


def test_the_loss_curve_says_what_it_shows(fresh_home):
    """The MLP trains on every training row by default: its curve is the training loss only, and the page says so
    (it used to name the best 'validation' epoch from the training loss)."""
    from ui.training import curve_sentence
    at = open_page("pages/train.py")
    selectbox(at, "train_family").select("mlp").run()
    button(at, "train_go").click().run()
    assert_clean(at)
    said = [c.value for c in at.caption if c.value.startswith("Trained ")]
    assert len(said) == 1 and "no rows were held out for validation" in said[0] and "best validation" not in said[0]
    history = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6}, {"epoch": 2, "train_loss": 0.3, "val_loss": 0.4},
               {"epoch": 3, "train_loss": 0.2, "val_loss": 0.45}]
    assert curve_sentence(history) == "Trained 3 epochs; the best validation loss came at epoch 2."
