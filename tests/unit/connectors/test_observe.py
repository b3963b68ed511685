"""The connector figures of ``scv connectors status`` as gauges: one state of each set to 1,
tasks per state, the risk level, retained WAL and binlog head-room where the source has them."""

from __future__ import annotations

from connectors.observe import LEVELS, STATES, ConnectorReading, readings
from connectors.ops import Risk


def _values(found: list[ConnectorReading]) -> dict[tuple[str, tuple[str, ...]], float]:
    return {(r.name, tuple(r.labels.values())): r.value for r in readings(found)}


def test_a_running_postgres_connector_with_its_retained_wal() -> None:
    risk = Risk("ok", "slot active", {"slot": "scv_erp", "retained_wal_bytes": 123456})
    got = _values([ConnectorReading("erp", "RUNNING", ("RUNNING",), True, risk)])
    assert got[("scv_connector_running", ("erp",))] == 1
    assert [s for s in STATES if got[("scv_connector_state", ("erp", s))]] == ["RUNNING"]
    assert got[("scv_connector_tasks", ("erp", "RUNNING"))] == 1
    assert got[("scv_connector_tasks", ("erp", "FAILED"))] == 0
    assert [lv for lv in LEVELS if got[("scv_connector_data_loss_risk", ("erp", lv))]] == ["ok"]
    assert got[("scv_connector_retained_wal_bytes", ("erp", "scv_erp"))] == 123456
    assert not any(name == "scv_connector_binlog_headroom_seconds" for name, _ in got)


def test_a_failed_task_and_a_binlog_close_to_expiry() -> None:
    risk = Risk("warn", "head-room 5.0h", {"headroom_s": 18000})
    got = _values([ConnectorReading("wms", "RUNNING", ("FAILED",), False, risk)])
    assert got[("scv_connector_running", ("wms",))] == 0
    assert got[("scv_connector_tasks", ("wms", "FAILED"))] == 1
    assert got[("scv_connector_data_loss_risk", ("wms", "warn"))] == 1
    assert got[("scv_connector_binlog_headroom_seconds", ("wms",))] == 18000


def test_an_undeployed_connector_and_a_state_nobody_foresaw() -> None:
    unknown = Risk("unknown", "slot does not exist", {})
    got = _values(
        [
            ConnectorReading("erp", "NOT DEPLOYED", (), False, unknown),
            ConnectorReading("wms", "DEGRADED", (), False, unknown),
        ]
    )
    assert got[("scv_connector_state", ("erp", "NOT DEPLOYED"))] == 1
    assert got[("scv_connector_state", ("wms", "DEGRADED"))] == 1
    assert got[("scv_connector_state", ("wms", "RUNNING"))] == 0
