"""``f41021`` → ``inventory.balance_opened`` (opening stock only); ``f43121`` open quantity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from transforms.envelope import parse_change_event
from transforms.events import GoodsReceived, InventoryBalanceOpened
from transforms.mappers.erp_f41021 import item_balances
from transforms.mappers.erp_f43121 import receipts
from transforms.reference import Reference, StateStore

RECORDED = Path(__file__).parents[2] / "fixtures" / "debezium" / "erp"


def _reference() -> Reference:
    store = StateStore()
    store.load("item|60001", {"item_id": "BOLT-1001-RED", "base_uom": "EA"})
    store.load("uom|60001|20001|CA|EA", {"factor": "12"})
    return Reference(store, {"20001": "America/Chicago"})


def _change(table: str, op: str, **after: Any) -> Any:
    record = orjson.loads((RECORDED / table / f"{op}.json").read_bytes())
    payload = orjson.loads(record["value"])
    payload["after"].update(after)
    change = parse_change_event(orjson.dumps(payload))
    assert change is not None
    return change


BALANCE = {
    "liitm": "60001",
    "limcu": "       20001",
    "lilocn": " ",
    "lilotn": " ",
    "lilots": " ",
    "lipqoh": "12000",
    "liqtin": "0",
    "liupmj": "126010",
    "litday": "93000",
}


@pytest.mark.parametrize("op", ["c", "r"])
def test_a_balance_created_or_snapshotted_with_stock_is_opened(op: str) -> None:
    (event,) = item_balances(_change("f41021", op, **BALANCE), _reference())
    assert isinstance(event, InventoryBalanceOpened)
    assert (event.site_id, event.item_id, event.on_hand, event.on_hold) == (
        "20001",
        "BOLT-1001-RED",
        Decimal(120),
        Decimal(0),
    )
    assert event.partition_key() == "20001|BOLT-1001-RED"
    assert event.source.snapshot is (op == "r")


def test_updates_and_empty_rows_open_nothing() -> None:
    assert list(item_balances(_change("f41021", "u", **BALANCE), _reference())) == []
    empty = BALANCE | {"lipqoh": "0"}
    assert list(item_balances(_change("f41021", "c", **empty), _reference())) == []


def test_lot_status_or_inspection_is_on_hold() -> None:
    held = BALANCE | {"lilots": "Q"}
    (event,) = item_balances(_change("f41021", "c", **held), _reference())
    assert isinstance(event, InventoryBalanceOpened)
    assert event.on_hold == Decimal(120)
    inspected = BALANCE | {"liqtin": "2500"}
    (event,) = item_balances(_change("f41021", "c", **inspected), _reference())
    assert isinstance(event, InventoryBalanceOpened)
    assert event.on_hold == Decimal(25)


def test_a_receipt_reports_what_the_po_line_still_expects_in_base_units() -> None:
    row = {
        "prmatc": "1",
        "prkcoo": "00020",
        "prdoco": "4711",
        "prdcto": "OP",
        "prsfxo": "000",
        "prlnid": "1000",
        "prnlin": "1",
        "prdoc": "9",
        "pritm": "60001",
        "prlitm": "BOLT-1001-RED",
        "prmcu": "       20001",
        "pruom": "CA",
        "prurec": "300",
        "pruopn": "200",
        "prrcdj": "126010",
        "prupmj": "126010",
        "prtday": "93000",
    }
    (event,) = receipts(_change("f43121", "c", **row), _reference())
    assert isinstance(event, GoodsReceived)
    assert (event.quantity, event.open_quantity) == (Decimal(36), Decimal(24))
