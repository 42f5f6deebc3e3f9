"""Who is using ModelDeck, and sign-in for a hosted instance (off by default for local use).

Sign-in is chosen in `.streamlit/secrets.toml` (see docs/deploy.md):

    [modeldeck]
    sign_in = "password"          # a small team: names and scrypt hashes below (python -m core hash-password)
    [modeldeck.passwords]
    ana = "scrypt$16384$8$1$…$…"

    [modeldeck]
    sign_in = "oidc"              # an OpenID Connect provider through st.login (settings in [auth]) …
    allowed_emails = ["ana@example.org"]   # … and only these accounts: any account at the provider could sign in

`gate()` runs first on every page: with sign-in on, it draws the sign-in form and stops until the session is signed
in, so nothing else is drawn before. Without sign-in, a session is its browser: a random token kept in a cookie
(`modeldeck_browser`, one year), so runs and uploads made in one browser are that browser's.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import streamlit as st

from core.common import ModelDeckError

BROWSER_COOKIE = "modeldeck_browser"
MAX_FAILURES = 5                    # wrong passwords for one name …
LOCKOUT_S = 60.0                    # … before that name waits this long


@dataclass(frozen=True)
class Identity:
    owner: str          # what the store records: "user:<name or e-mail>" or "browser:<hash of the cookie>"
    label: str          # what the sidebar shows
    signed_in: bool


# ---------------------------------------------------------------- settings
def _settings() -> dict:
    try:
        return dict(st.secrets.get("modeldeck", {}))
    except (FileNotFoundError, KeyError, ValueError):   # no secrets file: local use
        return {}


def sign_in_mode() -> str:
    """'off' (default), 'password' or 'oidc'."""
    mode = str(_settings().get("sign_in", "off")).strip().lower()
    if mode not in ("off", "password", "oidc"):
        raise ModelDeckError(f"modeldeck.sign_in in the secrets is '{mode}'; use \"password\", \"oidc\" or leave it "
                             "out.")
    return mode


def _passwords() -> dict[str, str]:
    return {str(name): str(value) for name, value in dict(_settings().get("passwords", {})).items()}


def _allowed_emails() -> set[str]:
    return {str(e).strip().lower() for e in _settings().get("allowed_emails", []) if str(e).strip()}


# ---------------------------------------------------------------- the session's identity
def identity() -> Identity | None:
    """Who this session is; None while sign-in is on and the session has not signed in."""
    who = st.session_state.get("_identity")
    if who is None and sign_in_mode() == "off":
        who = st.session_state["_identity"] = _browser_identity()
    return who


def _cookie_token() -> str | None:
    """The browser's token from its cookie (None on a first visit, or when cookies are off)."""
    return st.context.cookies.get(BROWSER_COOKIE) if st.context.cookies else None


def _browser_identity() -> Identity:
    token = _cookie_token()
    if not token or not (20 <= len(token) <= 100) or not token.replace("-", "").replace("_", "").isalnum():
        token = secrets.token_urlsafe(24)
        st.session_state["_set_browser_cookie"] = token
    digest = hashlib.sha256(token.encode()).hexdigest()[:24]
    return Identity(owner=f"browser:{digest}", label="this browser", signed_in=False)


def _remember_browser() -> None:
    """Store a new browser token in a cookie (once per session; the token is ours, never user input)."""
    token = st.session_state.pop("_set_browser_cookie", None)
    if token:
        st.sidebar.html(f"""<script>document.cookie = "{BROWSER_COOKIE}={token}; Max-Age=31536000; Path=/; SameSite=Strict"
                + (location.protocol === "https:" ? "; Secure" : "");</script>""", unsafe_allow_javascript=True,
                width="content")


# ---------------------------------------------------------------- the gate
def gate(pages: list | None = None) -> Identity:
    """The session's identity; with sign-in on, the sign-in form instead of any page until it succeeds, with the
    app's menu (`pages`) registered but hidden, so a deep link survives sign-in and nothing of the app is drawn. A
    sign-in setting that cannot be read stops every page with its message (never an open door)."""
    try:
        mode = sign_in_mode()
    except ModelDeckError as exc:
        _hide_menu(pages)
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if mode == "off":
        who = identity()
        _remember_browser()
        return who
    if mode == "oidc":
        return _oidc_gate(pages)
    return _password_gate(pages)


def _hide_menu(pages: list | None) -> None:
    if pages:
        st.navigation(pages, position="hidden")


def _password_gate(pages: list | None) -> Identity:
    who = st.session_state.get("_identity")
    if who is not None and who.owner.removeprefix("user:") in _passwords():
        return who
    _hide_menu(pages)
    st.title("ModelDeck")
    st.markdown("Sign in to continue. Ask the person who runs this ModelDeck for an account.")
    with st.form("sign_in"):
        name = st.text_input("Name", key="sign_in_name", max_chars=100)
        password = st.text_input("Password", type="password", key="sign_in_password", max_chars=500)
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if check_sign_in(name.strip(), password):
            st.session_state["_identity"] = Identity(owner=f"user:{name.strip()}", label=name.strip(), signed_in=True)
            st.rerun()
        st.error(_failure_message(name.strip()), icon=":material/lock:")
    st.stop()


_FAILURES: dict[str, list[float]] = {}


def check_sign_in(name: str, password: str) -> bool:
    """The password check of the small-team list (scrypt hashes, compared in constant time), with a short lockout
    after MAX_FAILURES wrong passwords for one name."""
    from core.runs import check_password
    now = time.monotonic()
    recent = [t for t in _FAILURES.get(name, []) if now - t < LOCKOUT_S]
    if len(recent) >= MAX_FAILURES:
        _FAILURES[name] = recent
        return False
    if check_password(_passwords().get(name), password):
        _FAILURES.pop(name, None)
        return True
    _FAILURES[name] = recent + [now]
    return False


def _failure_message(name: str) -> str:
    recent = [t for t in _FAILURES.get(name, []) if time.monotonic() - t < LOCKOUT_S]
    if len(recent) >= MAX_FAILURES:
        return f"Too many wrong passwords for this name: wait {LOCKOUT_S:.0f} seconds, then try again."
    return "That name and password do not match an account here."


def _oidc_gate(pages: list | None) -> Identity:
    user = st.user
    if not user.is_logged_in:
        _hide_menu(pages)
        st.title("ModelDeck")
        st.markdown("Sign in with your organisation's account to continue.")
        if st.button("Sign in", type="primary", key="sign_in_oidc", icon=":material/login:"):
            st.login()
        st.stop()
    email = str(user.get("email") or "").strip().lower()
    verified = user.get("email_verified", True) is not False
    if not email or not verified or email not in _allowed_emails():
        _hide_menu(pages)
        st.title("ModelDeck")
        st.error(f"The account {email or '(without an e-mail address)'} is not allowed to use this ModelDeck. Ask the "
                 "person who runs it to add your address, or sign in with another account.", icon=":material/block:")
        if st.button("Sign out", key="sign_out_denied"):
            st.logout()
        st.stop()
    who = Identity(owner=f"user:{email}", label=email, signed_in=True)
    st.session_state["_identity"] = who
    return who


def sign_out_button() -> None:
    """A sign-out button for the sidebar (only when sign-in is on)."""
    mode = sign_in_mode()
    if mode == "off":
        return
    if st.button("Sign out", key="sign_out", icon=":material/logout:"):
        st.session_state.pop("_identity", None)
        if mode == "oidc":
            st.logout()
        st.rerun()
