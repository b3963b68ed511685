"""What an audit row says: config hashes and who ran the action."""

from __future__ import annotations

import os
import pwd

import pytest

from audit.entry import DETAIL_MAX, config_hash, one_line, operator


def test_a_config_hash_ignores_key_order_and_sees_every_change() -> None:
    config = {"connector.class": "PostgresConnector", "slot.name": "scv_erp", "tasks.max": "1"}
    reordered = dict(reversed(list(config.items())))
    assert config_hash(config) == config_hash(reordered)
    assert config_hash(config) != config_hash({**config, "tasks.max": "2"})
    assert config_hash(None) is None
    digest = config_hash(config)
    assert digest is not None
    assert digest.startswith("sha256:")
    assert len(digest) == 7 + 64


def test_who_is_the_effective_user_not_the_user_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "somebody-else")
    monkeypatch.setenv("LOGNAME", "somebody-else")
    monkeypatch.setenv("SUDO_USER", "alice")
    who = operator()
    assert who.os_user == pwd.getpwuid(os.geteuid()).pw_name
    assert who.sudo_user == "alice"
    assert who.pid == os.getpid()
    monkeypatch.delenv("SUDO_USER")
    assert operator().sudo_user is None


def test_a_failure_detail_is_one_bounded_line() -> None:
    assert one_line("connect refused\n  at line 2\n") == "connect refused at line 2"
    long = one_line("x" * (DETAIL_MAX * 2))
    assert len(long) == DETAIL_MAX
    assert long.endswith("…")
