"""The Connect worker gets only the secrets connector specs reference and may resolve no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.specs import load_specs
from stack.components.connect import ConnectWorker
from stack.credentials import CONNECT_SECRETS, SECRET_NAMES, load_or_create
from stack.db_settings import CONNECT_SETTINGS
from stack.settings import StackSettings


@pytest.fixture
def worker(tmp_path: Path) -> ConnectWorker:
    settings = StackSettings(state_dir=tmp_path / "state")
    return ConnectWorker(settings, load_or_create(settings.state_dir, environ={}))


def test_the_worker_environment_holds_the_connect_secrets_and_no_other(
    worker: ConnectWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCV_ERP_DSN", "postgresql+psycopg://scv_owner:hunter2@127.0.0.1/erp")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "shell-secret")
    monkeypatch.setenv("PATH", "/usr/bin")

    env = worker.env()

    assert env["PATH"] == "/usr/bin"
    assert {name for name in env if name in SECRET_NAMES} == set(CONNECT_SECRETS)
    for name in ("SCV_ERP_OWNER_PASSWORD", "SCV_WMS_OWNER_PASSWORD", "SCV_STORE_PASSWORD"):
        assert name not in env
    assert "SCV_ERP_DSN" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "hunter2" not in "".join(env.values())


def test_the_env_provider_allows_exactly_the_connect_secrets() -> None:
    pattern = re.compile(CONNECT_SETTINGS["config.providers.env.param.allowlist.pattern"])
    for name in SECRET_NAMES:
        assert bool(pattern.fullmatch(name)) is (name in CONNECT_SECRETS), name
    assert not pattern.fullmatch("PATH")
    assert not pattern.fullmatch("XSCV_PII_HASH_SALT")


def test_every_secret_a_connector_spec_references_reaches_the_worker() -> None:
    referenced = {name for spec in load_specs().values() for name in spec.secret_envs}
    assert referenced == set(CONNECT_SECRETS)
