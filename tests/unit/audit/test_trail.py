"""The trail fails closed: no ``requested`` row, no action; no outcome row, a failed command.

The database and the broker are the boundaries: a fake store stands in for
``audit.operator_actions`` and a fake publisher for the producer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

import audit.trail as trail
from audit.entry import Action, Operator, Phase, Row, config_hash
from audit.errors import AuditError, AuditIncomplete, AuditPublishError, AuditUnavailable
from audit.settings import AuditSettings

SETTINGS = AuditSettings(store_dsn="postgresql://scv_store@127.0.0.1:1/scv")


@dataclass
class FakeStore:
    fail_on: set[Phase] = field(default_factory=set)
    rows: list[Row] = field(default_factory=list)
    closed: bool = False

    def append(
        self,
        action: Action,
        who: Operator,
        phase: Phase,
        *,
        config_before: str | None,
        config_after: str | None = None,
        detail: str | None = None,
    ) -> int:
        if phase in self.fail_on:
            raise AuditError("audit database: cannot record it: connection lost")
        row = Row(
            id=len(self.rows) + 1,
            action_id=action.action_id,
            phase=phase,
            at=datetime.now(UTC),
            os_user=who.os_user,
            sudo_user=who.sudo_user,
            host=who.host,
            pid=who.pid,
            command=action.command,
            target=action.target,
            arguments=action.arguments,
            config_before=config_before,
            config_after=config_after,
            detail=detail,
            published_at=None,
        )
        self.rows.append(row)
        return row.id

    @contextmanager
    def outbox(self) -> Iterator[tuple[list[Row], Callable[[Sequence[int]], None]]]:
        pending = [r for r in self.rows if r.published_at is None]
        marked: list[int] = []
        yield pending, marked.extend
        now = datetime.now(UTC)
        self.rows = [replace(r, published_at=now) if r.id in marked else r for r in self.rows]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Row]:
    sent: list[Row] = []
    monkeypatch.setattr(trail, "publish", lambda _settings, rows: sent.extend(rows))
    return sent


def _use(monkeypatch: pytest.MonkeyPatch, store: FakeStore) -> None:
    monkeypatch.setattr(trail, "_open", lambda _settings: store)


def _run(
    action: Action, snapshot: Callable[[], object] | None, body: Callable[[], None]
) -> list[str]:
    warnings: list[str] = []
    with trail.recorded(SETTINGS, action, snapshot, warn=warnings.append):
        body()
    return warnings


def test_an_action_is_recorded_before_and_after_with_its_config_hashes(
    monkeypatch: pytest.MonkeyPatch, published: list[Row]
) -> None:
    store = FakeStore()
    _use(monkeypatch, store)
    config = {"tasks.max": "1"}

    def change() -> None:
        assert [r.phase for r in store.rows] == ["requested"]  # on record before it acts
        config["tasks.max"] = "2"

    action = Action("connectors apply", "erp", {"skip_prepare": False})
    assert _run(action, lambda: dict(config), change) == []
    requested, succeeded = store.rows
    assert (requested.phase, succeeded.phase) == ("requested", "succeeded")
    assert requested.config_before == config_hash({"tasks.max": "1"})
    assert succeeded.config_after == config_hash({"tasks.max": "2"})
    assert requested.action_id == succeeded.action_id == action.action_id
    assert [r.id for r in published] == [1, 2]
    assert all(r.published_at is not None for r in store.rows)
    assert store.closed


def test_no_requested_row_means_the_action_does_not_run(
    monkeypatch: pytest.MonkeyPatch, published: list[Row]
) -> None:
    store = FakeStore(fail_on={"requested"})
    _use(monkeypatch, store)
    ran: list[bool] = []
    with pytest.raises(AuditUnavailable, match="`connectors pause` was not run"):
        _run(Action("connectors pause", "erp"), None, lambda: ran.append(True))
    assert ran == []
    assert store.rows == []
    assert published == []


def test_an_unreachable_audit_database_means_the_action_does_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(_settings: AuditSettings) -> FakeStore:
        raise AuditError("cannot connect to the audit database: connection refused")

    monkeypatch.setattr(trail, "_open", unreachable)
    ran: list[bool] = []
    with pytest.raises(AuditUnavailable, match="connection refused; `sim init` was not run"):
        _run(Action("sim init"), None, lambda: ran.append(True))
    assert ran == []


def test_a_failed_action_is_recorded_as_failed_and_its_error_goes_on(
    monkeypatch: pytest.MonkeyPatch, published: list[Row]
) -> None:
    store = FakeStore()
    _use(monkeypatch, store)

    def refused() -> None:
        raise RuntimeError("Connect answered 409:\n  rebalance in progress")

    with pytest.raises(RuntimeError, match="rebalance"):
        _run(Action("connectors resume", "wms"), lambda: {"a": "1"}, refused)
    assert [r.phase for r in store.rows] == ["requested", "failed"]
    failed = store.rows[1]
    assert failed.detail == "Connect answered 409: rebalance in progress"
    assert failed.config_before == failed.config_after == config_hash({"a": "1"})
    assert [r.id for r in published] == [1, 2]


def test_an_action_whose_outcome_cannot_be_recorded_is_reported_as_failed(
    monkeypatch: pytest.MonkeyPatch, published: list[Row]
) -> None:
    store = FakeStore(fail_on={"succeeded"})
    _use(monkeypatch, store)
    ran: list[bool] = []
    with pytest.raises(AuditIncomplete, match="ran, but its outcome is not on record"):
        _run(Action("quarantine replay"), None, lambda: ran.append(True))
    assert ran == [True]
    assert [r.phase for r in store.rows] == ["requested"]


def test_rows_the_broker_did_not_take_stay_in_the_outbox_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FakeStore()
    _use(monkeypatch, store)

    def down(_settings: AuditSettings, rows: Sequence[Row]) -> None:
        raise AuditPublishError(f"audit: {len(rows)} row(s) not published to scv.audit.v1")

    monkeypatch.setattr(trail, "publish", down)
    warnings = _run(Action("connectors pause", "erp"), None, lambda: None)
    assert len(warnings) == 1
    assert "scv audit publish" in warnings[0]
    assert [r.published_at for r in store.rows] == [None, None]
    # The next audited command sends them, oldest first.
    sent: list[Row] = []
    monkeypatch.setattr(trail, "publish", lambda _settings, rows: sent.extend(rows))
    _run(Action("connectors resume", "erp"), None, lambda: None)
    assert [r.id for r in sent] == [1, 2, 3, 4]
    assert all(r.published_at is not None for r in store.rows)


def test_a_config_that_cannot_be_read_after_the_action_is_said_so(
    monkeypatch: pytest.MonkeyPatch, published: list[Row]
) -> None:
    store = FakeStore()
    _use(monkeypatch, store)
    reads = iter([{"a": "1"}])

    def snapshot() -> object:
        try:
            return next(reads)
        except StopIteration:
            raise ConnectionError("Connect is not answering") from None

    _run(Action("connectors delete", "erp"), snapshot, lambda: None)
    succeeded = store.rows[1]
    assert succeeded.config_after is None
    assert succeeded.detail == "config after not readable: Connect is not answering"
