"""Sign-in for a hosted instance (issue 12), through AppTest: off by default; a small-team password list (scrypt
hashes, constant-time check, nothing drawn before sign-in, a short lockout); OpenID Connect through st.login with an
e-mail allow-list; runs belong to the signed-in user."""
from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import APP, PAGES

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def ana_hash() -> str:
    from core.runs import hash_password
    return hash_password(PASSWORD)


def app(page: str = "pages/runs.py", **secrets) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["modeldeck"] = secrets
    if page != "pages/home.py":
        at.switch_page(page)
    return at


def only_the_sign_in_form(at: AppTest) -> None:
    """Nothing but the sign-in screen: no page title of the app, no sidebar, no chart, no table."""
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["ModelDeck"]
    assert not at.sidebar.markdown and not at.sidebar.caption
    assert not at.get("plotly_chart") and not at.dataframe and not at.selectbox


def submit(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return next(b for b in at.button if b.label == "Sign in").click().run()


def test_sign_in_is_off_by_default(fresh_home):
    at = app().run()
    assert not at.exception and "Runs" in [t.value for t in at.title]
    assert not [t for t in at.text_input if t.key == "sign_in_name"]


@pytest.mark.parametrize("page", PAGES)
def test_with_a_password_list_nothing_is_drawn_before_sign_in(page, fresh_home, ana_hash):
    only_the_sign_in_form(app(page, sign_in="password", passwords={"ana": ana_hash}).run())


def test_wrong_then_right_password(fresh_home, ana_hash):
    at = app(sign_in="password", passwords={"ana": ana_hash}).run()
    at = submit(at, "ana", "wrong password")
    only_the_sign_in_form(at)
    assert any("do not match" in e.value for e in at.error)
    at = submit(at, "nobody", PASSWORD)                    # an unknown name gets the same answer
    assert any("do not match" in e.value for e in at.error)
    at = submit(at, "ana", PASSWORD)
    assert not at.exception and "Runs" in [t.value for t in at.title]
    assert any("Signed in as ana" in c.value for c in at.sidebar.caption)


def test_a_name_is_locked_for_a_while_after_five_wrong_passwords(fresh_home, ana_hash):
    from ui import auth
    auth._FAILURES.clear()
    at = app(sign_in="password", passwords={"ana": ana_hash}).run()
    for _ in range(auth.MAX_FAILURES):
        at = submit(at, "ana", "wrong")
    at = submit(at, "ana", PASSWORD)                       # right, but too soon
    only_the_sign_in_form(at)
    assert any("Too many wrong passwords" in e.value for e in at.error)
    auth._FAILURES.clear()


def test_runs_belong_to_the_signed_in_user(fresh_home, ana_hash):
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from core.runs import hash_password
    secrets = {"sign_in": "password", "passwords": {"ana": ana_hash, "bo": hash_password("bo's own password")}}
    at = submit(app("pages/train.py", **secrets).run(), "ana", PASSWORD)
    at.selectbox(key="train_family").select("linear").run()
    at.button(key="train_go").click().run()
    assert not at.exception
    mine = RunStore().list()
    assert [r.owner for r in mine] == ["user:ana"]
    ds = load_builtin("iris")
    everyone = save_trained(RunStore(), train_model(ds, ModelSpec.create("linear"), cv_folds=0), ds.name)
    bo = submit(app("pages/runs.py", **secrets).run(), "bo", "bo's own password")
    options = " ".join(bo.selectbox(key="runs_pick").options)
    assert mine[0].id not in options and everyone.id in options          # ana's run is hers alone
    bo.selectbox(key="runs_pick").select(everyone.id).run()
    assert bo.button(key="runs_delete").disabled                         # with sign-in on, old runs are read-only


def test_oidc_shows_only_the_sign_in_button_until_signed_in(fresh_home):
    at = app(sign_in="oidc", allowed_emails=["ana@example.org"])
    at.user = {"is_logged_in": False}
    at.run()
    only_the_sign_in_form(at)
    assert at.button(key="sign_in_oidc").label == "Sign in"


@pytest.mark.parametrize("user, allowed", [
    ({"is_logged_in": True, "email": "ana@example.org"}, True),
    ({"is_logged_in": True, "email": "Ana@Example.ORG", "email_verified": True}, True),
    ({"is_logged_in": True, "email": "eve@example.org"}, False),
    ({"is_logged_in": True, "email": "ana@example.org", "email_verified": False}, False),
    ({"is_logged_in": True}, False),
])
def test_oidc_lets_in_only_the_allow_list(user, allowed, fresh_home):
    at = app(sign_in="oidc", allowed_emails=["ana@example.org", "bo@example.org"])
    at.user = user
    at.run()
    assert not at.exception
    if allowed:
        assert "Runs" in [t.value for t in at.title]
        assert any("Signed in as ana@example.org" in c.value for c in at.sidebar.caption)
    else:
        only_the_sign_in_form(at)
        assert any("not allowed" in e.value for e in at.error)


def test_a_misspelt_sign_in_mode_is_an_error_not_an_open_door(fresh_home):
    at = app(sign_in="pasword").run()
    assert not at.exception
    assert any("modeldeck.sign_in" in e.value for e in at.error)
    assert [t.value for t in at.title] == []


def test_hash_password_on_the_command_line():
    from core.runs import check_password
    done = subprocess.run([sys.executable, "-m", "core", "hash-password", "--stdin"], input=PASSWORD + "\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stored = done.stdout.strip()
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert check_password(stored, PASSWORD) and not check_password(stored, PASSWORD + "!")
    assert not check_password("not a hash", PASSWORD) and not check_password(None, PASSWORD)
