"""A serving database that goes away mid-run (a restart, a cut connection) stops the view
process with one line and ``EX_TEMPFAIL`` (75), which ``scv run`` answers with a restart;
the open batch was one uncommitted transaction (Kafka clients and the store faked)."""

from __future__ import annotations

from typing import Any, NoReturn

import psycopg
import pytest

import views.process
from views.errors import StoreError, StoreUnavailable
from views.process import ViewProcess
from views.settings import ViewsSettings


class FakeStore:
    conn: Any = None

    def ensure_schema(self) -> None:
        pass

    def lock(self) -> None:
        pass

    def load(self, *_: Any) -> dict[tuple[str, int], int]:
        return {}

    def unpublished(self) -> list[tuple[int, str, bytes]]:
        return []


class FakeClient:
    def __init__(self, *_: Any, **__: Any) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def flush(self, _timeout: float) -> int:
        return 0


def _process(monkeypatch: pytest.MonkeyPatch, failure: Exception) -> tuple[ViewProcess, FakeClient]:
    consumer = FakeClient()
    monkeypatch.setattr(views.process, "ensure_alerts_topic", lambda _settings: None)
    monkeypatch.setattr(views.process.kafkaio, "admin_client", lambda _bootstrap: None)
    monkeypatch.setattr(views.process, "Producer", FakeClient)
    monkeypatch.setattr(views.process, "_consumer", lambda _settings, _kind: consumer)
    process = ViewProcess(ViewsSettings(), store=FakeStore(), log=lambda _line: None)  # type: ignore[arg-type]
    monkeypatch.setattr(process.orders, "start", lambda _conn: None)

    def fail(*_: Any, **__: Any) -> NoReturn:
        raise failure

    monkeypatch.setattr(process, "_loop", fail)
    return process, consumer


@pytest.mark.parametrize(
    "failure",
    [
        psycopg.OperationalError("server closed the connection unexpectedly\n\tThis probably"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.InterfaceError("the connection is closed"),
    ],
)
def test_a_lost_serving_database_stops_with_one_line_and_exit_75(
    monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    process, consumer = _process(monkeypatch, failure)
    with pytest.raises(StoreUnavailable) as stopped:
        process.run()
    message = str(stopped.value)
    assert "\n" not in message
    assert str(failure).splitlines()[0] in message
    assert "not committed" in message
    assert stopped.value.exit_code == 75
    assert consumer.closed  # the consumer is closed on the way out, as on any stop


def test_a_refused_statement_is_not_taken_for_a_lost_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = StoreError("batch not written: value too long")
    process, _ = _process(monkeypatch, refused)
    with pytest.raises(StoreError) as stopped:
        process.run()
    assert not isinstance(stopped.value, StoreUnavailable)
    assert stopped.value.exit_code == 3
