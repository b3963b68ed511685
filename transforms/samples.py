"""Sample canonical events, clean and with every defect a gating suite can catch.

For the parity test (GX and the hot-path evaluator must flag the same rows), the gate
benchmark and the report's demo data. Defects are derived from the suite itself (one per
expectation: a null, a value outside the set or range, an unanchored near-match for a regex,
a wrong type, a duplicate, a bad GTIN check digit), so a new rule gets a defect for free.
Defective events are made with ``model_copy(update=...)``, which skips pydantic validation on
purpose: the gate must catch what a buggy mapper could produce.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from expectations.gtin import check_digit
from expectations.suites import NESTED_SEPARATOR, ExpectationSpec, Suite
from transforms.events import (
    EVENT_TYPES,
    CanonicalEvent,
    FieldChange,
    Quantity,
    SourceRef,
    event_id_for,
)

_T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
_WMS = (
    "order.allocated",
    "order.picked",
    "order.packed",
    "shipment.",
    "inbound.",
    "inventory.",
    "temperature.",
)


def _gtin(n: int) -> str:
    body = f"0061414{n % 100_000:05d}0"[:13]
    return body + str(check_digit(body))


def _fields(event_type: str, i: int, rng: random.Random) -> dict[str, Any]:
    order_id = f"00020-SO-{10_000 + i}"
    po_id = f"00020-OP-{20_000 + i}"
    item_id = f"{rng.choice(('ACME', 'BOLT', 'VACC'))}-{1000 + i}-{rng.choice(('BLU', 'RED'))}"
    qty = Decimal(rng.randint(1, 48))
    day = date(2026, 1, 5) + timedelta(days=rng.randint(0, 20))
    original = Quantity(value=Decimal(rng.randint(1, 4)), uom=rng.choice(("EA", "CA")))
    change = (FieldChange(field="status", before="520", after="540"),)
    common_order = {"order_id": order_id, "line_id": f"{order_id}/1.000"}
    common_po = {"po_id": po_id, "line_id": f"{po_id}/1.000"}
    alloc = {
        **common_order,
        "allocation_id": f"{i:010d}",
        "item_id": item_id,
        "quantity": qty,
        "base_uom": "EA",
    }
    by_type: dict[str, dict[str, Any]] = {
        "order.placed": {
            **common_order, "line_no": "1.000", "item_id": item_id, "gtin": _gtin(i),
            "quantity": qty, "base_uom": "EA", "original": original, "customer_id": "100001",
            "order_date": day, "requested_date": day + timedelta(days=3),
            "promised_ship_date": day + timedelta(days=2), "unit_price": Decimal("9.99"),
            "currency": rng.choice(("USD", "CAD", "JPY")), "status": "520",
        },
        "order.line_changed": {
            **common_order, "changes": change, "status": "540", "quantity": qty, "base_uom": "EA",
        },
        "order.cancelled": {
            **common_order, "cancelled_quantity": qty, "base_uom": "EA", "reason": "cancelled",
        },
        "order.allocated": {**alloc, "lot": f"L{i:06d}", "location": "1A-01-01"},
        "order.picked": {**alloc, "from_location": "1A-01-01", "to_location": "9STAGE01"},
        "order.packed": {**alloc, "carton_sscc": f"00614141{i:09d}0", "drop_id": f"D{i:09d}"},
        "shipment.dispatched": {
            "shipment_id": f"MB{i:08d}", "order_id": order_id, "wms_order_key": f"{i:010d}",
            "carrier": "UPS",
        },
        "shipment.delivered": {
            "shipment_id": f"MB{i:08d}", "order_id": order_id, "wms_order_key": f"{i:010d}",
        },
        "po.issued": {
            **common_po, "line_no": "1.000", "supplier_id": "500001", "item_id": item_id,
            "quantity": qty, "base_uom": "EA", "original": original,
            "unit_cost": Decimal("6.1938"), "currency": "USD", "order_date": day,
            "promised_date": day + timedelta(days=10), "status": "220",
        },
        "po.changed": {
            **common_po, "changes": change, "status": "280",
            "promised_date": day + timedelta(days=12),
        },
        "inbound.advised": {
            "po_id": po_id, "asn_id": f"ASN{i:08d}", "asn_line": "00001", "item_id": item_id,
            "quantity": qty, "base_uom": "EA",
        },
        "goods.received": {
            **common_po, "receipt_id": f"{po_id}/1.000/1/{i}", "item_id": item_id,
            "quantity": qty, "base_uom": "EA", "original": original, "location": "5R-01-02",
            "received_date": day,
        },
        "receipt.reversed": {
            **common_po, "receipt_id": f"{po_id}/1.000/1/{i}", "item_id": item_id,
            "quantity": qty, "base_uom": "EA", "original": original,
        },
        "inventory.adjusted": {
            "item_id": item_id, "delta": Decimal(rng.randint(-9, 9) or 1), "base_uom": "EA",
            "location": "2A-03-04", "reason": "CC",
        },
        "inventory.balance_opened": {
            "item_id": item_id, "on_hand": qty * 10, "base_uom": "EA", "location": "2A-03-04",
        },
        "inventory.moved": {
            "item_id": item_id, "quantity": qty, "from_location": "5R-01-02",
            "to_location": "2A-03-04", "reason": "PA",
        },
        "temperature.recorded": {
            "sensor_id": f"PRB-30001-{i % 12 + 1:02d}", "location": "1COLD01",
            "temperature_c": Decimal(rng.randint(20, 80)).scaleb(-1),
        },
        "item.upserted": {
            "item_id": item_id, "item_short": str(60_000 + i), "gtin": _gtin(i),
            "description": "Acme blu 12-pack", "base_uom": "EA", "purchasing_uom": "CA",
            "pricing_uom": "EA", "lot_controlled": rng.random() < 0.2,
            "shelf_life_days": rng.choice((180, 365)),
        },
    }  # fmt: skip
    return by_type[event_type]


def clean_event(event_type: str, i: int, rng: random.Random) -> CanonicalEvent:
    """The ``i``-th valid event of ``event_type`` (deterministic for a seeded ``rng``)."""
    system = "wms" if event_type.startswith(_WMS) else "erp"
    position = f"lsn:{1000 + i}"
    at = _T0 + timedelta(seconds=i)
    fields = {
        "event_id": event_id_for(
            system=system, table="t", position=position, pk=str(i),
            event_type=event_type, ordinal=0,
        ),
        "occurred_at": at,
        "recorded_at": at + timedelta(milliseconds=300),
        "site_id": rng.choice(("20001", "20002", "30001")),
        "source": SourceRef(
            system=system, namespace="proddta" if system == "erp" else "wmwhse1", table="t",
            op="c", position=position, pk=str(i), snapshot=False,
        ),
        **_fields(event_type, i, rng),
    }  # fmt: skip
    return EVENT_TYPES[event_type].model_validate(fields)


def _read(event: CanonicalEvent, column: str) -> Any:
    value: Any = event
    for part in column.split(NESTED_SEPARATOR):
        value = None if value is None else getattr(value, part)
    return value


def _with(event: CanonicalEvent, column: str, value: Any) -> CanonicalEvent:
    """A copy with ``column`` set to ``value``, unvalidated (nested: copies the parent)."""
    parts = column.split(NESTED_SEPARATOR)
    if len(parts) == 1:
        return event.model_copy(update={column: value})
    parent = getattr(event, parts[0])
    if parent is None:
        return event
    return event.model_copy(update={parts[0]: parent.model_copy(update={parts[1]: value})})


def _outside(spec: ExpectationSpec, current: Any) -> Any:
    """A value the ``between`` expectation must refuse, of the column's own kind."""
    high, low = spec.kwargs.get("max_value"), spec.kwargs.get("min_value")
    bound = high if high is not None else low
    if isinstance(current, datetime) or (isinstance(bound, str) and "T" in bound):
        return datetime(2199, 1, 1, tzinfo=UTC)
    if isinstance(current, date) or isinstance(bound, str):
        return date(2199, 12, 31)
    if spec.kwargs.get("strict_min") and low is not None:
        return Decimal(str(low))  # the boundary itself: strict means refused
    if high is not None:
        return Decimal(str(high)) + 1
    return Decimal(str(low)) - 1


def _defect(spec: ExpectationSpec, event: CanonicalEvent, rng: random.Random) -> Any:
    column = spec.columns[0]
    current = _read(event, column)
    kind = spec.type
    if kind.endswith("to_not_be_null"):
        return None
    if kind.endswith("to_be_in_set"):
        if isinstance(current, bool):
            # A flag: the value the set leaves out (None when both are allowed).
            return next((b for b in (True, False) if b not in spec.kwargs["value_set"]), None)
        return "??"
    if kind.endswith("to_be_between"):
        return _outside(spec, current)
    if kind.endswith("to_match_regex"):
        if isinstance(current, Decimal):
            return current + Decimal("0.5")  # a fraction of a count unit
        # An unanchored near-match: only ^...$ refuses it.
        return f"x{current}y" if current is not None else "x"
    if kind.endswith("to_be_of_type"):
        return "yes" if spec.kwargs.get("type_") == "bool" else 12345
    if kind.endswith("valid_gtin"):
        text = str(current or _gtin(rng.randint(0, 99_999)))
        return text[:-1] + str((int(text[-1]) + 1) % 10)
    raise ValueError(spec.type)


@dataclass(frozen=True, slots=True)
class SampleBatch:
    events: list[CanonicalEvent]
    injected: list[tuple[int, str]]  # (index, rule id) of every defect put in


def sample_batch(
    event_type: str, suite: Suite, *, size: int, seed: int = 7, defects_per_rule: int = 1
) -> SampleBatch:
    """``size`` clean events plus ``defects_per_rule`` defective ones for every rule, shuffled
    in; optional fields are nulled now and then (map rules must ignore nulls)."""
    rng = random.Random(seed)
    events = [clean_event(event_type, i, rng) for i in range(size)]
    required = {s.columns[0] for s in suite.expectations if s.type.endswith("to_not_be_null")}
    optional = [
        name
        for name, f in EVENT_TYPES[event_type].model_fields.items()
        if not f.is_required() and name not in ("event_version", "event_type", *required)
    ]
    for i in range(0, size, 7):
        if optional:
            events[i] = events[i].model_copy(update={rng.choice(optional): None})
    injected: list[tuple[int, str]] = []
    used: set[int] = set()
    for spec in suite.expectations:
        for _ in range(defects_per_rule):
            # A row (and its neighbour) no other defect touched, whose column has a value.
            i = rng.randrange(size)
            while {i, (i + 1) % size} & used:
                i = rng.randrange(size)
            used.update({i, (i + 1) % size})
            if spec.type == "expect_column_values_to_be_unique":
                j = (i + 1) % size
                events[j] = _with(events[j], spec.columns[0], _read(events[i], spec.columns[0]))
            elif spec.type == "expect_compound_columns_to_be_unique":
                j = (i + 1) % size
                for column in spec.columns:
                    events[j] = _with(events[j], column, _read(events[i], column))
            else:
                events[i] = _with(events[i], spec.columns[0], _defect(spec, events[i], rng))
            injected.append((i, spec.rule_id))
    return SampleBatch(events, injected)
