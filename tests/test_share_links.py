"""Share links and ownership (issue 12): a link's token opens one run read-only, every write path refuses it with a
clear "read-only" message and leaves the store as it was, editing the URL gives no more, and a run or upload of
someone else's is neither shown nor changeable."""
from __future__ import annotations

import hashlib
import json

import pytest

from tests.test_pages import button, open_page

TESTS_BROWSER = "browser:" + hashlib.sha256(b"tests-one-browser-0000000000").hexdigest()[:24]   # conftest


@pytest.fixture()
def shared(fresh_home):
    """A gradient-boosting run on wine owned by the tests' browser, and a share token for it."""
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_builtin("wine")
    store = RunStore().as_owner(TESTS_BROWSER)
    run = save_trained(store, train_model(ds, ModelSpec.create("hist_gb"), cv_folds=3), ds.name)
    return run, store.create_share(run.id, TESTS_BROWSER)


def snapshot(home) -> tuple:
    """Every run row, every background job and every file under MODELDECK_HOME (names and sizes): what a write
    would change."""
    from core.runs import RunStore
    rows = sorted((r.id, r.name, r.status, r.updated_at.isoformat()) for r in RunStore().list())
    rows += sorted(("job", j.id, j.kind) for j in RunStore().jobs())
    files = sorted((str(p.relative_to(home)), p.stat().st_size) for p in home.rglob("*")
                   if p.is_file() and not p.name.startswith("modeldeck.db") and "schema-lock" not in p.name)
    return rows, files


def refused(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for e in at.error]
    assert any("read-only" in m for m in messages), messages


def click(at, key: str):
    return button(at, key).click().run()


# ---------------------------------------------------------------- one test per write path
def test_rename_and_delete_are_offered_to_no_one_with_a_share_link(shared, fresh_home):
    """Disabled in the page (a browser cannot press them); the check behind them is tested below, called directly."""
    run, token = shared
    at = open_page("pages/runs.py", share=token)
    assert button(at, "runs_rename").disabled and button(at, "runs_delete").disabled
    assert next(c for c in at.checkbox if c.key.startswith("runs_confirm")).disabled
    assert any("shared link" in c.value for c in at.caption)


WRITE_PATHS = {
    # name -> (page, how to reach the write once the page is open)
    "train": ("pages/train.py", lambda at: click(at, "train_go")),
    "train in the background": ("pages/train.py", lambda at: click(
        next(c for c in at.checkbox if c.key.startswith("train_bg")).check().run(), "train_go")),
    "leaderboard": ("pages/train.py", lambda at: click(at.multiselect(key="board_models").set_value(["linear"]).run(),
                                                       "board_go")),
    "optimizer comparison (a background job)": ("pages/train.py", lambda at: click(at, "opt_go")),
    "compress": ("pages/compress.py", lambda at: click(at, "compress_go")),
    "explain and store": ("pages/explain.py", lambda at: at),        # SHAP for a tree model starts by itself
    "labels": ("pages/data.py", lambda at: click(at, "labels_save")),
    "tune": ("pages/tune.py", lambda at: click(at, "tune_start")),
    "story": ("pages/home.py", lambda at: click(at, "home_story")),
}

DISABLED_IN_A_SHARED_VIEW = {
    # name -> (page, how to reach the button once the page is open, its key): a browser cannot press them; the
    # check behind them refuses too (the direct calls below)
    "model card's intended use": ("pages/runs.py", lambda at: at, "card_save_"),
    "drift record": ("pages/predict.py", lambda at: upload_new_rows(at), "predict_record_drift"),
}


@pytest.mark.parametrize("path", list(DISABLED_IN_A_SHARED_VIEW))
def test_buttons_that_write_are_disabled_in_a_shared_view(path, shared, fresh_home):
    run, token = shared
    page, reach, key = DISABLED_IN_A_SHARED_VIEW[path]
    at = reach(open_page(page, share=token))
    assert not at.exception, [e.value for e in at.exception]
    found = [b for b in at.button if b.key.startswith(key)]
    assert found and all(b.disabled for b in found), path


def upload_new_rows(at):
    """The Predict page with a few wine rows (no target) uploaded: the drift check and its Record button appear."""
    from core.data import load_builtin
    wine = load_builtin("wine")
    rows = wine.frame.drop(columns=[wine.target]).head(30)
    at.file_uploader(key="predict_upload").upload("new.csv", rows.to_csv(index=False).encode(), "text/csv")
    return at.run()


@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_every_write_path_refuses_a_share_link(path, shared, fresh_home):
    run, token = shared
    page, act = WRITE_PATHS[path]
    before = snapshot(fresh_home)
    at = open_page(page, share=token)
    at = act(at)
    refused(at)
    assert snapshot(fresh_home) == before, f"{path}: the store changed"
    assert at.query_params["share"] in (token, [token])


def test_measuring_serving_speed_refuses_a_share_link(shared, fresh_home):
    """The button sits below a compression result: the owner measures a short list first."""
    from core.compress import compress_shortlist
    from core.runs import RunStore
    run, token = shared
    compress_shortlist(run.id, store=RunStore(), shap_check=False)
    before = snapshot(fresh_home)
    at = click(open_page("pages/compress.py", share=token), "cost_measure")
    refused(at)
    assert snapshot(fresh_home) == before


def test_building_recommenders_and_uploading_interactions_refuse_a_share_link(shared, fresh_home):
    """Building runs as a background job stored for its owner (issue 14), so a link cannot start one; saving
    recommendations needs a built recommender, which a shared session never reaches."""
    run, token = shared
    at = open_page("pages/recommend.py", share=token)
    before = snapshot(fresh_home)
    refused(click(at, "rec_build"))
    assert not [b for b in at.button if b.key == "rec_save"]
    at.segmented_control(key="rec_source").set_value("upload").run()
    at.file_uploader[0].upload("events.csv", b"user,item,rating\n" + b"\n".join(
        f"u{i % 7},i{i % 11},{1 + i % 5}".encode() for i in range(80)), "text/csv")
    refused(at.run())
    assert snapshot(fresh_home) == before


def test_uploading_a_csv_refuses_a_share_link(shared, fresh_home):
    run, token = shared
    at = open_page("pages/data.py", share=token)
    before = snapshot(fresh_home)
    at.file_uploader[0].upload("mine.csv", ("a,b,label\n" + "\n".join(f"{i % 5},{i % 7},{'x' if i % 3 else 'y'}"
                                                                       for i in range(60))).encode(), "text/csv")
    at.run()
    refused(click(at, "upload_use"))
    assert snapshot(fresh_home) == before


def test_the_ui_writers_refuse_a_shared_session_whatever_they_are_called_with(shared, fresh_home):
    """The one check, called directly (as a page would): restart, share, revoke, rename, delete, the model card's
    intended use, recording drift, labels, class names and starting a search all refuse."""
    run, token = shared
    at = open_page("pages/metrics.py", share=token)
    assert not at.exception and not at.error
    before = snapshot(fresh_home)
    from streamlit.testing.v1 import AppTest
    probe = AppTest.from_string(f"""
import streamlit as st
from core.common import ModelDeckError
from ui import card, data, predict, runs, tune
st.query_params["share"] = {token!r}
out = []
for name, call in [("rename", lambda: runs.rename_run({run.id!r}, "x")), ("delete", lambda: runs.delete_run({run.id!r})),
                   ("restart", lambda: runs.restart_run({run.id!r})), ("share", lambda: runs.create_share_link({run.id!r})),
                   ("revoke", lambda: runs.revoke_share_links({run.id!r})), ("guarded", lambda: runs.guarded(print)),
                   ("card", lambda: card.save_use({run.id!r}, "x", "y")),
                   ("drift", lambda: predict.save_drift({run.id!r}, None, "new.csv")),
                   ("labels", lambda: data.store_labels("builtin:wine", {{"ash": ("ash", "g")}}, ["ash"])),
                   ("class names", lambda: data.store_class_names("builtin:wine", {{"1": "first"}})),
                   ("tune", lambda: tune.start_search(None, 1))]:
    try:
        call()
        out.append(name + ": allowed")
    except ModelDeckError as exc:
        out.append(name + ": " + str(exc)[:60])
st.write(out)
""", default_timeout=30).run()
    assert not probe.exception
    lines = probe.get("json")[0].value if probe.get("json") else None
    text = " ".join(m.value for m in probe.markdown) + (json.dumps(lines) if lines else "")
    assert "allowed" not in text and text.count("read-only shared link") == 11, text
    assert snapshot(fresh_home) == before


# ---------------------------------------------------------------- editing the URL gives no more
def test_editing_the_url_of_a_share_link_opens_nothing_more(shared, fresh_home):
    from core.runs import RunStore
    run, token = shared
    other = RunStore().as_owner(TESTS_BROWSER).create(name="private", dataset_key="builtin:iris", dataset_name="Iris",
                                                      task="classification", spec_json="{}", prep={}, status="done")
    at = open_page("pages/runs.py", share=token, run=other.id)          # asks for another run: still the shared one
    assert not at.exception
    assert at.selectbox(key="runs_pick").options == [f"{run.name} · {run.id}"]
    assert button(at, "runs_delete").disabled and button(at, "runs_rename").disabled
    broken = open_page("pages/metrics.py", share=token[:-2] + "xx")     # a mistyped token: nothing but the message
    assert any("does not open anything" in e.value for e in broken.error)
    assert not broken.get("plotly_chart") and not broken.exception


def test_a_revoked_link_stops_working_in_open_sessions_too(shared, fresh_home):
    from core.runs import RunStore
    run, token = shared
    at = open_page("pages/metrics.py", share=token)
    assert at.get("plotly_chart")
    RunStore().revoke_share(run.id)
    at.run()
    assert any("revoked" in e.value for e in at.error) and not at.get("plotly_chart")


def test_the_owner_makes_and_revokes_a_link_in_the_sidebar(shared, fresh_home):
    from core.runs import RunStore
    run, _token = shared
    at = open_page("pages/metrics.py", run=run.id)
    at = click(at, "share_make")
    code = [c.value for c in at.sidebar.code]
    assert code and "?share=" in code[0] and "run=" not in code[0]
    new_token = code[0].split("?share=")[1]
    assert RunStore().shared_run_id(new_token) == run.id
    click(at, "share_revoke")
    assert RunStore().shared_run_id(new_token) is None


# ---------------------------------------------------------------- someone else's runs and uploads
def as_other(at):
    from ui.auth import Identity
    at.session_state["_identity"] = Identity("browser:someone-else", "this browser", False)
    return at


def test_another_browser_neither_sees_nor_changes_a_run(shared, fresh_home):
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP
    run, _token = shared
    at = as_other(AppTest.from_file(APP, default_timeout=90))
    at.query_params["run"] = run.id
    at.switch_page("pages/metrics.py")
    at.run()
    assert not at.exception
    assert any("belongs to someone else" in w.value for w in at.warning)
    runs = as_other(AppTest.from_file(APP, default_timeout=90))
    runs.switch_page("pages/runs.py")
    runs.run()
    assert not runs.selectbox or run.id not in " ".join(runs.selectbox(key="runs_pick").options)


def test_uploads_are_listed_for_their_owner_only(fresh_home):
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP
    at = open_page("pages/data.py")
    csv = "a,b,label\n" + "\n".join(f"{i % 5},{i % 7},{'x' if i % 3 else 'y'}" for i in range(60))
    at.file_uploader[0].upload("mine.csv", csv.encode(), "text/csv")
    at = click(at.run(), "upload_use")
    key = at.query_params["data"]
    key = key[0] if isinstance(key, list) else key
    assert key.startswith("upload:") and "mine (uploaded)" in at.selectbox(key="data_select").options
    other = as_other(AppTest.from_file(APP, default_timeout=90))
    other.query_params["data"] = key                 # someone pasted the link
    other.switch_page("pages/data.py")
    other.run()
    assert not other.exception
    assert "mine (uploaded)" not in other.selectbox(key="data_select").options
    assert any("belongs to someone else" in w.value for w in other.warning)
