"""The envelope parser and the row accessors (whose fast paths give exactly what the exact
(Decimal) path gives)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from transforms.envelope import Op, Row, Scalar, parse_change_event
from transforms.errors import InvalidChangeEvent, MappingError


def _row(**cells: Scalar) -> Row:
    return Row(cells, "erp.proddta.f4211.after")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [(60055, 60055), ("60055", 60055), ("  42 ", 42), ("-7", -7), ("12.00", 12), ("0", 0)],
)
def test_integer_reads_numbers_and_whole_numeric_strings(cell: Scalar, expected: int) -> None:
    assert _row(n=cell).integer("n") == expected
    assert _row(n=cell).decimal("n") == Decimal(expected)


@pytest.mark.parametrize("cell", ["1.5", "abc", "", True, 2.0, "NaN"])
def test_integer_refuses_what_is_not_an_exact_whole_number(cell: Scalar) -> None:
    with pytest.raises(MappingError):
        _row(n=cell).integer("n")


def test_integer_of_null_is_none_and_required_refuses_it() -> None:
    assert _row(n=None).integer("n") is None
    with pytest.raises(MappingError, match="n is null"):
        _row(n=None).required_integer("n")


def test_missing_column_is_a_mapping_error_but_get_gives_the_default() -> None:
    row = _row(a="x")
    with pytest.raises(MappingError, match="no column 'b'"):
        row.integer("b")
    assert row.get("b") is None
    assert row.get("b", "d") == "d"
    assert "a" in row
    assert "b" not in row
    assert row.columns() - {"a"} == set()


# -- the envelope: recorded bytes, changed one way at a time -------------------------------

RECORDED = Path(__file__).parents[2] / "fixtures" / "debezium"


def _value(system: str, table: str, name: str) -> dict[str, Any]:
    record = orjson.loads((RECORDED / system / table / f"{name}.json").read_bytes())
    value: dict[str, Any] = orjson.loads(record["value"])
    return value


def _reason(payload: object) -> tuple[str, str]:
    with pytest.raises(InvalidChangeEvent) as caught:
        parse_change_event(orjson.dumps(payload))
    return caught.value.reason, caught.value.detail


def test_a_recorded_update_parses_to_its_positions_and_images() -> None:
    payload = _value("erp", "f4101", "u")
    change = parse_change_event(orjson.dumps(payload))
    assert change is not None
    assert change.op is Op.UPDATE
    assert str(change.table) == "erp.proddta.f4101"
    assert change.position == f"lsn:{payload['source']['lsn']}"
    assert change.tx_id == payload["transaction"]["id"]
    assert change.source_ts_ms == payload["source"]["ts_ms"]
    assert change.snapshot is False
    assert change.before is not None
    assert change.after is not None
    assert dict(change.after) == payload["after"]


def test_a_mariadb_change_has_a_binlog_position() -> None:
    payload = _value("wms", "LOC", "c-12AA0001")
    change = parse_change_event(orjson.dumps(payload))
    assert change is not None
    source = payload["source"]
    assert change.position == f"binlog:{source['file']}:{source['pos']}:{source['row']}"
    assert change.table.namespace == source["db"]


def test_a_nested_cell_is_mistyped_and_named() -> None:
    payload = _value("erp", "f4101", "c")
    payload["after"]["imlitm"] = {"value": "X", "scale": 0}
    reason, detail = _reason(payload)
    assert reason == "mistyped_field"
    assert "after.imlitm is a nested value" in detail


def test_an_embedded_schema_is_a_malformed_envelope() -> None:
    reason, detail = _reason({"schema": {"type": "struct"}, "payload": _value("erp", "f4101", "c")})
    assert reason == "malformed_envelope"
    assert "schemas" in detail


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.update(op="x"), "mistyped_field"),
        (lambda p: p.update(after=None), "missing_field"),
        (lambda p: p["source"].pop("table"), "missing_field"),
        (lambda p: [p["source"].pop(k) for k in ("schema", "db")], "missing_field"),
        (lambda p: p["source"].pop("lsn"), "missing_field"),
        (lambda p: p["source"].update(ts_ms="soon"), "mistyped_field"),
    ],
    ids=["unknown op", "create without after", "no table", "no schema", "no position", "ts"],
)
def test_a_broken_envelope_names_its_reason(
    change: Callable[[dict[str, Any]], object], reason: str
) -> None:
    payload = _value("erp", "f4101", "c")
    change(payload)
    assert _reason(payload)[0] == reason


def test_a_value_that_is_no_object_is_a_malformed_envelope() -> None:
    assert _reason([1, 2])[0] == "malformed_envelope"
