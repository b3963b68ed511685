"""The audit trail on the real stack: operator actions in ``audit.operator_actions`` and on
``scv.audit.v1`` with the same rows, ``scv audit list``, fail closed, append-only."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from click.testing import CliRunner

import kafkaio
from connectors.client import ConnectClient
from scv.cli import cli


def _scv(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _state(connect_url: str, name: str) -> str:
    with ConnectClient(connect_url) as client:
        return client.status(name).state


def _mine(rows: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """This test's pause and resume (the fixture's ``connectors apply`` runs in this process
    too, and is on record as well)."""
    return [
        r
        for r in rows
        if r["pid"] == os.getpid()
        and datetime.fromisoformat(r["at"]) >= since
        and r["command"] in ("connectors pause", "connectors resume")
    ]


def test_pause_and_resume_are_on_record_in_the_table_and_on_the_topic(
    connectors_applied: None, endpoints: dict[str, str]
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    assert _state(endpoints["SCV_CONNECT_URL"], "erp") == "RUNNING"
    try:
        paused = _scv("connectors", "pause", "erp")
        assert paused.exit_code == 0, paused.output
    finally:
        resumed = _scv("connectors", "resume", "erp")
    assert resumed.exit_code == 0, resumed.output
    assert _state(endpoints["SCV_CONNECT_URL"], "erp") == "RUNNING"

    listed = _scv("audit", "list", "--json", "--since", "10m")
    assert listed.exit_code == 0, listed.output
    mine = _mine(orjson.loads(listed.output), started)
    assert [(r["command"], r["phase"]) for r in mine] == [
        ("connectors pause", "requested"),
        ("connectors pause", "succeeded"),
        ("connectors resume", "requested"),
        ("connectors resume", "succeeded"),
    ]
    for row in mine:
        assert row["target"] == "erp"
        assert row["os_user"]
        assert row["published"] is True
    # Pausing and resuming does not change the deployed config: the hashes say so.
    hashes = {r["config_before"] for r in mine} | {r["config_after"] for r in mine[1::2]}
    assert len(hashes) == 1
    assert next(iter(hashes)).startswith("sha256:")
    assert mine[0]["action_id"] == mine[1]["action_id"] != mine[2]["action_id"]

    # The topic carries the same rows (the table is its outbox), keyed by the action id.
    on_topic: dict[int, dict[str, Any]] = {}
    for message in kafkaio.read_committed(
        endpoints["SCV_KAFKA_BOOTSTRAP"], ["scv.audit.v1"], since=started
    ):
        value = orjson.loads(message.value() or b"null")
        assert message.key() == value["action_id"].encode()
        assert dict(message.headers() or [])["audit.id"] == str(value["id"]).encode()
        on_topic.setdefault(value["id"], value)
    for row in mine:
        expected = {k: v for k, v in row.items() if k != "published"}
        assert on_topic[row["id"]] == expected

    text = _scv("audit", "list", "--since", "10m")
    assert text.exit_code == 0
    assert "connectors pause" in text.output
    assert "succeeded" in text.output


def test_without_the_audit_database_the_action_does_not_run(
    connectors_applied: None, endpoints: dict[str, str]
) -> None:
    good = endpoints["SCV_STORE_DSN"]
    wrong = good.replace("://scv_store:", "://scv_store:wrong-", 1)
    assert wrong != good
    result = CliRunner().invoke(cli, ["connectors", "pause", "erp"], env={"SCV_STORE_DSN": wrong})
    assert result.exit_code != 0
    assert "`connectors pause` was not run" in str(result.exception)
    time.sleep(2)  # a pause that had been sent would show by now
    assert _state(endpoints["SCV_CONNECT_URL"], "erp") == "RUNNING"


def test_audit_rows_are_append_only(connectors_applied: None, endpoints: dict[str, str]) -> None:
    assert _scv("audit", "list", "--limit", "1").exit_code == 0  # the table exists
    dsn = endpoints["SCV_STORE_DSN"].replace("+psycopg", "")
    with psycopg.connect(dsn) as conn:
        last = conn.execute("SELECT max(id) FROM audit.operator_actions").fetchone()
        assert last is not None
        assert last[0] is not None
        for statement in (
            "UPDATE audit.operator_actions SET os_user = 'nobody' WHERE id = %s",
            "DELETE FROM audit.operator_actions WHERE id = %s",
        ):
            with (
                pytest.raises(psycopg.errors.RaiseException, match="audit rows"),
                conn.transaction(),
            ):
                conn.execute(statement, (last[0],))
