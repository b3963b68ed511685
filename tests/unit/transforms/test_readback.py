"""``scv sim verify``'s stream side: which source row a quarantine record stands for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import orjson
import pytest

from transforms.envelope import parse_change_event
from transforms.mappers.erp_f4211 import order_ids
from transforms.readback import BUSINESS_KEYS, quarantined_row

if TYPE_CHECKING:
    from confluent_kafka import Message

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"


class _Message:
    """The three coordinates and the value of a consumed quarantine record."""

    def __init__(self, path: Path, value: bytes | None = None, *, replace: bool = False) -> None:
        record = orjson.loads(path.read_bytes())
        self._topic = str(record["topic"])
        self._partition = int(record["partition"])
        self._offset = int(record["offset"])
        original = record["value"]
        self._value = value if replace else (None if original is None else original.encode())

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value


def _read(
    message: _Message, since: datetime | None = None, until: datetime | None = None
) -> tuple[str, str] | None:
    return quarantined_row(cast("Message", message), since, until)


def _row(system: str, table: str, case: str = "c") -> tuple[str, str] | None:
    return _read(_Message(FIXTURES / system / table / f"{case}.json"))


def test_an_order_line_is_found_by_the_order_id_its_mapper_gives() -> None:
    path = FIXTURES / "erp" / "f4211" / "c.json"
    change = parse_change_event(_Message(path).value())
    assert change is not None
    assert _row("erp", "f4211") == ("erp.f4211", order_ids(change.row)[0])
    assert _row("erp", "f4211") == ("erp.f4211", "Z7b25-Z6-95473814")


@pytest.mark.parametrize(
    ("table", "key"), [("ITRN", "0000000001"), ("ZZ_TEMP_LOG", "1")], ids=["ITRN", "ZZ_TEMP_LOG"]
)
def test_wms_rows_are_found_by_their_key_column(table: str, key: str) -> None:
    assert _row("wms", table) == (f"wms.{table}", key)


def test_a_table_without_a_business_key_is_named_by_its_record() -> None:
    assert "wms.LOC" not in BUSINESS_KEYS
    record = orjson.loads((FIXTURES / "wms" / "LOC" / "c.json").read_bytes())
    where = f"wms.wmwhse1.LOC:{record['partition']}:{record['offset']}"
    assert _row("wms", "LOC") == ("wms.LOC", where)


def test_a_tombstone_and_an_undecodable_record_are_named_by_their_record() -> None:
    path = FIXTURES / "erp" / "f4211" / "c.json"
    tombstone = _read(_Message(path, None, replace=True))
    broken = _read(_Message(path, b"{not json", replace=True))
    assert tombstone == ("tombstone", "erp.proddta.f4211:1:0")
    assert broken == ("undecodable", "erp.proddta.f4211:1:0")


def test_records_outside_the_window_are_left_out() -> None:
    path = FIXTURES / "erp" / "f4211" / "c.json"
    change = parse_change_event(_Message(path).value())
    assert change is not None
    recorded = datetime.fromtimestamp(change.source_ts_ms / 1000, UTC)
    message = _Message(path)
    assert _read(message, recorded, recorded) is not None
    assert _read(message, recorded.replace(year=recorded.year + 1)) is None
    assert _read(message, None, recorded.replace(year=recorded.year - 1)) is None
