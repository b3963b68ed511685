from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from connectors.client import ConnectClient
from connectors.errors import (
    ConnectorNotFound,
    ConnectRebalancing,
    ConnectServerError,
    ConnectUnavailable,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _client(handler: Handler, retry_for: float = 10.0) -> tuple[ConnectClient, FakeTime]:
    t = FakeTime()
    client = ConnectClient(
        "http://connect.test",
        transport=httpx.MockTransport(handler),
        retry_for=retry_for,
        sleep=t.sleep,
        clock=t.clock,
    )
    return client, t


def test_409_during_rebalance_is_retried_until_it_succeeds() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(409, json={"error_code": 409, "message": "rebalance in progress"})
        return httpx.Response(200, json={"name": "erp", "config": {}})

    client, t = _client(handler)
    client.put_config("erp", {"a": "1"})
    assert len(calls) == 3
    assert all(c.method == "PUT" and c.url.path == "/connectors/erp/config" for c in calls)
    assert t.sleeps == [0.25, 0.5]


def test_409_that_does_not_end_gives_up_with_a_retryable_error() -> None:
    client, t = _client(lambda r: httpx.Response(409, json={"message": "rebalancing"}), 3.0)
    with pytest.raises(ConnectRebalancing, match="rebalancing") as info:
        client.restart("erp")
    assert info.value.retryable
    assert t.now <= 3.0


def test_404_names_the_connector() -> None:
    client, _ = _client(
        lambda r: httpx.Response(
            404, json={"error_code": 404, "message": "Connector crm not found"}
        )
    )
    with pytest.raises(
        ConnectorNotFound, match=r"crm: not found on Connect \(Connector crm not found\)"
    ):
        client.status("crm")


def test_get_config_of_a_missing_connector_is_none() -> None:
    client, _ = _client(lambda r: httpx.Response(404, json={"message": "not found"}))
    assert client.get_config("erp") is None


def test_500_with_a_trace_shows_its_first_line_and_keeps_the_trace() -> None:
    trace = (
        "java.lang.NullPointerException: Cannot invoke ConfigValueInfo.errors()\n"
        "\tat org.apache.kafka.connect.runtime.AbstractHerder.maybeAddConfigErrors(...)\n"
    )
    client, _ = _client(lambda r: httpx.Response(500, json={"error_code": 500, "message": trace}))
    with pytest.raises(ConnectServerError) as info:
        client.put_config("erp", {})
    assert str(info.value) == (
        "erp: Connect failed: "
        "java.lang.NullPointerException: Cannot invoke ConfigValueInfo.errors()"
    )
    assert info.value.trace == trace
    assert not info.value.retryable


def test_unreachable_connect_is_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, t = _client(handler, retry_for=1.0)
    with pytest.raises(ConnectUnavailable, match="does not answer"):
        client.connectors()
    assert t.sleeps


def test_validate_returns_only_keys_with_errors() -> None:
    body = {
        "error_count": 1,
        "configs": [
            {"value": {"name": "database.hostname", "errors": ["cannot connect"]}},
            {"value": {"name": "topic.prefix", "errors": []}},
            {"value": None},
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == (
            "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate"
        )
        return httpx.Response(200, json=body)

    client, _ = _client(handler)
    problems = client.validate("io.debezium.connector.postgresql.PostgresConnector", {})
    assert [(p.key, p.errors) for p in problems] == [("database.hostname", ("cannot connect",))]


def test_restart_sends_kip745_parameters() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={})

    client, _ = _client(handler)
    client.restart("wms", only_failed=True)
    assert seen[0].method == "POST"
    assert dict(seen[0].url.params) == {"includeTasks": "true", "onlyFailed": "true"}


def test_status_parses_tasks_and_the_failed_trace() -> None:
    body = {
        "name": "wms",
        "connector": {"state": "RUNNING", "worker_id": "w"},
        "tasks": [{"id": 0, "state": "FAILED", "worker_id": "w", "trace": "boom\n at x"}],
    }
    client, _ = _client(lambda r: httpx.Response(200, json=body))
    status = client.status("wms")
    assert not status.running
    assert status.failed_trace == "boom\n at x"
