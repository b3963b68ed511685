"""A secure local stack's transport settings are every command's defaults, unless the
environment has its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from scv.settings import local_transport_security
from stack import state
from stack.credentials import load_or_create
from stack.settings import StackSettings


def _secure_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackSettings:
    settings = StackSettings(state_dir=tmp_path / "state", secure=True)
    state.create(settings)
    settings.secure_marker.write_text("scv stack up --secure\n")
    load_or_create(settings.state_dir, environ={}, secure=True)
    monkeypatch.setenv("SCV_STATE_DIR", str(settings.state_dir))
    return settings


def test_a_secure_local_stack_gives_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secure_stack(tmp_path, monkeypatch)
    environ: dict[str, str] = {}
    set_ = local_transport_security(environ)
    assert environ["SCV_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert environ["SCV_KAFKA_SASL_USERNAME"] == "scv"
    assert environ["SCV_CONNECT_USERNAME"] == "scv"
    assert set_ == sorted(environ)


def test_an_environment_with_its_own_settings_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secure_stack(tmp_path, monkeypatch)
    environ = {"SCV_KAFKA_SECURITY_PROTOCOL": "SSL"}
    assert local_transport_security(environ) == []
    assert environ == {"SCV_KAFKA_SECURITY_PROTOCOL": "SSL"}


def test_a_plain_or_missing_stack_gives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCV_STATE_DIR", str(tmp_path / "none"))
    environ: dict[str, str] = {}
    assert local_transport_security(environ) == []
    assert environ == {}
    assert not (tmp_path / "none").exists()  # nothing created
