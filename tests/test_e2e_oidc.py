"""Sign-in with OpenID Connect, end to end (issue 12): the real app in Chromium against a local mock provider (the
npm package oauth2-mock-server, installed into a temporary folder), through Streamlit's st.login. An address on the
allow-list gets in and sees the app; another account of the same provider is refused, with nothing of the app shown.

Needs node/npm (the npm registry) and Debian's chromium; skipped otherwise.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request

import pytest

from benchmarks.sessions import CHROMIUM, free_port, serve
from tests.test_e2e_browser import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.e2e

MOCK = """
const fs = require('fs');
const { OAuth2Server } = require('oauth2-mock-server');
(async () => {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  const email = () => fs.readFileSync(process.env.MOCK_EMAIL_FILE, 'utf8').trim();
  server.service.on('beforeTokenSigning', (token) => {
    token.payload.email = email(); token.payload.email_verified = true; token.payload.name = 'Test user';
  });
  server.service.on('beforeUserinfo', (response) => {
    response.body = { sub: 'user', email: email(), email_verified: true, name: 'Test user' };
  });
  await server.start(Number(process.env.MOCK_PORT), '127.0.0.1');
  console.log('ready ' + server.issuer.url);
})();
"""


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The mock OpenID Connect provider on 127.0.0.1; yields (issuer URL, file holding the e-mail it signs in)."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for the mock OpenID Connect provider")
    folder = tmp_path_factory.mktemp("oidc")
    installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder),
                                "oauth2-mock-server@7"], capture_output=True, text=True, timeout=300)
    if installed.returncode != 0:
        pytest.skip(f"oauth2-mock-server could not be installed: {installed.stderr[-300:]}")
    (folder / "mock.js").write_text(MOCK)
    email_file, port = folder / "email.txt", free_port()
    email_file.write_text("ana@example.org")
    proc = subprocess.Popen(["node", str(folder / "mock.js")], cwd=folder, stdout=subprocess.PIPE, text=True,
                            env=os.environ | {"MOCK_PORT": str(port), "MOCK_EMAIL_FILE": str(email_file)},
                            start_new_session=True)
    try:
        assert proc.stdout.readline().startswith("ready"), "the mock provider did not start"
        yield f"http://127.0.0.1:{port}", email_file
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def app(provider, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found")
    pytest.importorskip("authlib", reason="streamlit[auth] (Authlib) is needed for st.login")
    issuer, _email = provider
    folder = tmp_path_factory.mktemp("oidc-app")
    port = free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(f"""
[modeldeck]
sign_in = "oidc"
allowed_emails = ["ana@example.org"]

[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-test-cookie-secret-that-is-long-enough"
client_id = "modeldeck"
client_secret = "not-a-real-secret"
server_metadata_url = "{issuer}/.well-known/openid-configuration"
""")
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=10) as answer:
        assert answer.status == 200
    with serve(folder, folder / "streamlit.log", port=port, extra_args=("--secrets.files", str(secrets))) as server:
        yield server


def _sign_in_as(browser, app, provider, email: str):
    from playwright.sync_api import expect

    from tests.test_e2e_browser import wait_for_app
    _issuer, email_file = provider
    email_file.write_text(email)
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(f"{app.url}/")
    wait_for_app(page)
    expect(page.get_by_role("button", name=re.compile("Sign in"))).to_be_visible(timeout=60_000)
    wait_for_app(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0, "the app's navigation is drawn before sign-in"
    page.get_by_role("button", name=re.compile("Sign in")).click()    # to the provider and back (the caller waits)
    return context, page


@pytest.mark.timeout(600)
def test_oidc_sign_in_lets_in_the_allow_list_only(browser, app, provider):
    from playwright.sync_api import expect
    context, page = _sign_in_as(browser, app, provider, "ana@example.org")
    try:
        expect(page.get_by_text("Signed in as ana@example.org")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
        assert page.locator("[data-testid=stException]").count() == 0
        page.screenshot(path="/tmp/modeldeck-oidc-signed-in.png")
    finally:
        context.close()
    context, page = _sign_in_as(browser, app, provider, "eve@example.org")
    try:
        expect(page.get_by_text(re.compile("eve@example.org is not allowed"))).to_be_visible(timeout=60_000)
        assert page.get_by_test_id("stSidebarNav").count() == 0
        assert page.get_by_text("Working on").count() == 0
    finally:
        context.close()
