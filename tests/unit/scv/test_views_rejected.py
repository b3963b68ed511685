"""``scv views rejected``: the records the view process skipped, and why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from click.testing import CliRunner

import views.store
from scv.commands.views import views as views_group
from views.store import RejectedRecord


class _Store:
    def __init__(self, records: list[RejectedRecord]) -> None:
        self.records = records
        self.schema_ensured = False

    def ensure_schema(self) -> None:
        self.schema_ensured = True

    def rejected(self, limit: int) -> list[RejectedRecord]:
        return self.records[:limit]


def _run(monkeypatch: pytest.MonkeyPatch, store: _Store, *args: str) -> str:
    @contextmanager
    def opened(dsn: str, schema: str) -> Iterator[Any]:
        assert schema == "views"
        yield store

    monkeypatch.setenv("SCV_STORE_DSN", "postgresql://nobody@127.0.0.1:1/scv")
    monkeypatch.setattr(views.store, "opened", opened)
    result = CliRunner().invoke(views_group, ["rejected", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_lists_each_rejected_record_with_where_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    record = RejectedRecord("scv.order.v1", 2, 41, "unknown_type", "tag 'x' not found", b"k", b"v")
    store = _Store([record, record])
    output = _run(monkeypatch, store, "--limit", "1")
    assert output == "scv.order.v1[2]@41  unknown_type: tag 'x' not found\n"
    assert store.schema_ensured  # a schema from before this table gets it


def test_says_so_when_there_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, _Store([])) == "no rejected records\n"
