"""Local sandbox credentials: generated once, reused, overridable, never printed by repr."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stack.credentials import SECRET_NAMES, load_or_create
from stack.errors import CorruptState


def test_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, environ={})
    second = load_or_create(tmp_path, environ={})
    assert first.values == second.values
    assert set(first.values) == set(SECRET_NAMES)
    assert len(set(first.values.values())) == len(SECRET_NAMES)  # no shared password
    mode = stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode)
    assert mode == 0o600


def test_environment_wins(tmp_path: Path) -> None:
    creds = load_or_create(tmp_path, environ={"SCV_ERP_CDC_PASSWORD": "from-env"})
    assert creds["SCV_ERP_CDC_PASSWORD"] == "from-env"
    assert "from-env" not in (tmp_path / "secrets.env").read_text()


def test_repr_masks_every_value(tmp_path: Path) -> None:
    creds = load_or_create(tmp_path, environ={})
    text = repr(creds) + str(creds)
    for value in creds.values.values():
        assert value not in text


def test_foreign_line_is_corrupt_state(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("SOMETHING_ELSE=1\n")
    with pytest.raises(CorruptState, match=r"secrets\.env:1"):
        load_or_create(tmp_path, environ={})
