"""Deployment (issue 12), checked at lint level: no base image can be pulled here, so the Dockerfile is not built;
it must start the README's command on the README's port, ship the committed Streamlit config, and copy only what
exists. docs/deploy.md covers what a team needs."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_dockerfile_starts_the_readme_command_on_the_readme_port():
    readme = (ROOT / "README.md").read_text()
    start = re.search(r"&& (streamlit run \S+)", readme).group(1)
    port = re.search(r"http://127\.0\.0\.1:(\d+)", readme).group(1)
    steps = _instructions()
    cmd = " ".join(__import__("json").loads(next(arg for op, arg in steps if op == "CMD")))
    assert cmd.startswith(start), (cmd, start)
    assert f"--server.port {port}" in cmd and "--server.address 0.0.0.0" in cmd
    assert ("EXPOSE", port) in steps
    assert any(op == "HEALTHCHECK" and f":{port}/_stcore/health" in arg for op, arg in steps)


def test_the_dockerfile_copies_what_exists_and_ships_the_config():
    steps = _instructions()
    copied = [shlex.split(arg)[:-1] for op, arg in steps if op == "COPY"]
    for sources in copied:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
    assert [".streamlit/config.toml"] in copied
    assert not any("secrets" in " ".join(sources) for sources in copied), "secrets must be mounted, not baked in"
    assert any(op == "USER" and arg != "root" for op, arg in steps)
    assert steps[0] == ("FROM", "python:3.11-slim")


def test_the_deploy_guide_covers_a_team_setup():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for must in ("TLS", "proxy_set_header Upgrade", "secrets.toml", "MODELDECK_DB_URL", "postgresql+psycopg",
                 "sign_in = \"password\"", "sign_in = \"oidc\"", "allowed_emails", "hash-password",
                 "maxUploadSize", "cookieSecret", "init-db", "client_max_body_size 100m"):
        assert must in guide, must
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r"maxUploadSize = 100\b", config)
