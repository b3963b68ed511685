from __future__ import annotations

import httpx
import pytest

from connectors.client import ConnectClient
from connectors.errors import NotRunning
from connectors.ops import diff, plan, trace_of, wait_running
from connectors.render import MASK
from connectors.settings import ConnectorsSettings
from connectors.specs import load_specs


def test_diff_reports_created_changed_and_removed_keys() -> None:
    assert diff({"a": "1"}, None, "x").action == "create"
    result = diff({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}, "x")
    assert result.action == "update"
    assert [(c.key, c.before, c.after) for c in result.changes] == [
        ("b", "3", "2"),
        ("c", "4", None),
    ]
    assert not diff({"a": "1"}, {"a": "1"}, "x").pending


def test_plan_masks_the_deployed_secrets_and_sees_no_change() -> None:
    salt = "s3cr3t-salt-0123456789"
    settings = ConnectorsSettings(secrets={"SCV_PII_HASH_SALT": salt})
    spec = load_specs()["wms"]
    from connectors.ops import desired

    # A config deployed by hand with the salt inline: plan compares it masked, shows no value.
    deployed = {**desired(spec, settings), "transforms.pii.secret": salt}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**deployed, "name": "wms"})

    client = ConnectClient("http://c", transport=httpx.MockTransport(handler))
    assert plan(spec, client, settings).action == "none"
    unmasked = ConnectorsSettings()
    changes = plan(spec, client, unmasked).changes
    assert [c.key for c in changes] == ["transforms.pii.secret"]
    # An unknown literal under a secret-like key is still never shown.
    assert [(c.before, c.after) for c in changes] == [(MASK, "${env:SCV_PII_HASH_SALT}")]


@pytest.mark.parametrize(
    "key",
    [
        "database.password",
        "transforms.x.secret",
        "sasl.jaas.config",
        "producer.override.sasl.jaas.config",
        "auth.token",
        "aws.access.key.id",
        "api.key",
        "ssl.keystore.key",
    ],
)
def test_plan_masks_any_key_named_like_a_secret_that_is_not_a_reference(key: str) -> None:
    spec = load_specs()["erp"]
    settings = ConnectorsSettings()
    from connectors.ops import desired

    deployed = {**desired(spec, settings), key: "hunter2-literal"}
    client = ConnectClient(
        "http://c",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=deployed)),
    )
    result = plan(spec, client, settings)
    shown = [(c.key, c.before, c.after) for c in result.changes]
    assert "hunter2-literal" not in repr(shown)
    assert (key, MASK, desired(spec, settings).get(key)) in shown


def test_plan_shows_references_and_ordinary_keys_named_key() -> None:
    from connectors.render import mask_secret_keys

    config = {
        "database.password": "${env:SCV_ERP_CDC_PASSWORD}",
        "x.secret": "${file:/etc/connect/secrets.properties:salt}",
        "message.key.columns": "proddta.f4211:sdkcoo",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "y.password": "",
    }
    assert mask_secret_keys(config) == config


def _status(connector: str, tasks: list[tuple[str, str | None]]) -> dict[str, object]:
    return {
        "name": "erp",
        "connector": {"state": connector, "worker_id": "w"},
        "tasks": [
            {"id": i, "state": s, "worker_id": "w", "trace": t} for i, (s, t) in enumerate(tasks)
        ],
    }


def test_wait_running_fails_with_the_task_trace() -> None:
    body = _status("RUNNING", [("FAILED", "io.debezium.DebeziumException: slot in use\n\tat ...")])
    client = ConnectClient(
        "http://c", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    )
    with pytest.raises(
        NotRunning, match=r"erp: task FAILED: io\.debezium\.DebeziumException: slot in use"
    ) as info:
        wait_running("erp", client, 10, sleep=lambda s: None)
    assert "\tat ..." in (trace_of(info.value) or "")


def _client(bodies: list[dict[str, object]]) -> ConnectClient:
    return ConnectClient(
        "http://c", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=bodies.pop(0)))
    )


FAILED = _status("FAILED", [("FAILED", "org.apache.kafka.common.config.ConfigException: bad")])
RUNNING = _status("RUNNING", [("RUNNING", None)])


def test_a_failure_read_right_after_a_change_is_looked_at_again() -> None:
    # Connect still reports the failure of the config before the PUT, then the new instance.
    bodies = [FAILED, FAILED, RUNNING, RUNNING]
    clock = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    status = wait_running(
        "erp", _client(bodies), 60, failure_grace=5, sleep=lambda s: None, clock=lambda: next(clock)
    )
    assert status.running
    assert bodies == []


def test_a_failure_that_outlasts_the_grace_is_final() -> None:
    bodies = [FAILED] * 10
    clock = iter(float(t) for t in range(100))
    with pytest.raises(NotRunning, match=r"erp: connector FAILED: .*ConfigException: bad"):
        wait_running(
            "erp",
            _client(bodies),
            60,
            failure_grace=3,
            sleep=lambda s: None,
            clock=lambda: next(clock),
        )
    assert len(bodies) <= 10 - 2  # looked again within the grace, then gave the trace


def test_wait_running_needs_two_running_polls_after_a_change() -> None:
    bodies = [
        _status("RUNNING", [("RUNNING", None)]),
        _status("RESTARTING", []),
        _status("RUNNING", [("RUNNING", None)]),
        _status("RUNNING", [("RUNNING", None)]),
    ]
    client = ConnectClient(
        "http://c", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=bodies.pop(0)))
    )
    assert wait_running("erp", client, 10, sleep=lambda s: None).running
    assert bodies == []


def test_wait_running_times_out() -> None:
    clock = iter(range(100))
    body = _status("PAUSED", [("PAUSED", None)])
    client = ConnectClient(
        "http://c", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    )
    with pytest.raises(NotRunning, match="not RUNNING after 5s \\(state PAUSED\\)"):
        wait_running("erp", client, 5, sleep=lambda s: None, clock=lambda: float(next(clock)))
