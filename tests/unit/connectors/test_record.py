"""The recorder's classification of post-drift envelopes and DDL, on recorded records."""

from __future__ import annotations

from pathlib import Path

import orjson

from connectors.record import drift_kind, is_alter

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"


def _value(relative: str) -> bytes | None:
    value = orjson.loads((FIXTURES / relative).read_bytes())["value"]
    return None if value is None else str(value).encode()


def test_drift_kind_tells_blank_from_value_and_ignores_pre_drift_envelopes() -> None:
    assert drift_kind(_value("erp/_drift/f4211/blank.json"), "sdurrf") == "blank"
    assert drift_kind(_value("erp/_drift/f4211/value.json"), "sdurrf") == "value"
    assert drift_kind(_value("erp/f4211/c.json"), "sdurrf") is None
    assert drift_kind(_value("erp/f4211/tombstone.json"), "sdurrf") is None
    assert drift_kind(_value("wms/_drift/ORDERS/value.json"), "UserDefine03") == "value"


def test_is_alter_finds_the_alter_that_added_the_column() -> None:
    alter = _value("wms/_schema_change/alter.json")
    assert is_alter(alter, "ORDERS", "UserDefine03")
    assert not is_alter(alter, "ORDERS", "UserDefine04")
    assert not is_alter(alter, "LOC", "UserDefine03")
    assert not is_alter(_value("wms/_schema_change/ddl.json"), "ORDERS", "UserDefine03")
