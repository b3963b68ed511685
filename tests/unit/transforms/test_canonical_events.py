"""Canonical events: frozen, exact, UTC, CloudEvents binary mode, deterministic ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pydantic
import pytest

from transforms.events import (
    EVENT_TYPES,
    OrderPlaced,
    Quantity,
    SourceRef,
    event_id_for,
    from_json,
    to_kafka,
)

SOURCE = SourceRef(
    system="erp",
    namespace="proddta",
    table="f4211",
    op="c",
    position="lsn:1",
    pk="x",
    snapshot=False,
)


def _placed(**overrides: object) -> OrderPlaced:
    fields: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime(2025, 2, 1, 15, 35, 12, tzinfo=UTC),
        "occurred_tz_offset": "-06:00",
        "recorded_at": datetime(2025, 2, 1, 15, 35, 13, tzinfo=UTC),
        "site_id": "20001",
        "source": SOURCE,
        "order_id": "00020-SO-12345",
        "line_id": "00020-SO-12345/1.000",
        "line_no": "1.000",
        "item_id": "AC-1001-BLU",
        "quantity": Decimal("144"),
        "base_uom": "EA",
        "original": Quantity(value=Decimal("12.00"), uom="CA"),
    }
    fields.update(overrides)
    return OrderPlaced.model_validate(fields)


def test_catalogue_has_the_required_event_types() -> None:
    required = {
        "order.placed", "order.line_changed", "order.cancelled", "order.allocated",
        "order.picked", "shipment.dispatched", "shipment.delivered", "po.issued",
        "po.changed", "inbound.advised", "goods.received", "receipt.reversed",
        "inventory.adjusted", "inventory.moved", "item.upserted", "temperature.recorded",
    }  # fmt: skip
    assert required <= set(EVENT_TYPES)


def test_event_ids_are_deterministic_and_sensitive_to_every_part() -> None:
    parts = {
        "system": "erp", "table": "f4211", "position": "lsn:1", "pk": "k",
        "event_type": "order.placed", "ordinal": 0,
    }  # fmt: skip
    first = event_id_for(**parts)  # type: ignore[arg-type]
    assert first == event_id_for(**parts)  # type: ignore[arg-type]
    for name, other in [
        ("system", "wms"),
        ("table", "f42119"),
        ("position", "lsn:2"),
        ("pk", "j"),
        ("event_type", "order.cancelled"),
        ("ordinal", 1),
    ]:
        assert event_id_for(**{**parts, name: other}) != first  # type: ignore[arg-type]


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
    event = _placed()
    with pytest.raises(pydantic.ValidationError):
        event.quantity = Decimal(1)  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        _placed(colour="blue")


def test_times_must_be_utc() -> None:
    with pytest.raises(pydantic.ValidationError, match="UTC"):
        _placed(occurred_at=datetime(2025, 2, 1, 9, 35, 12))
    with pytest.raises(pydantic.ValidationError, match="UTC"):
        _placed(occurred_at=datetime(2025, 2, 1, 9, tzinfo=timezone(timedelta(hours=-6))))


def test_kafka_record_is_cloudevents_binary_mode_with_exact_decimals() -> None:
    event = _placed(quantity=Decimal("0.1"))
    record = to_kafka(event, topic_prefix="t.")
    headers = dict(record.headers)
    assert record.topic == "t.scv.order.v1"
    assert record.key == b"00020-SO-12345"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == str(event.event_id).encode()
    assert headers["ce_type"] == b"order.placed"
    assert headers["ce_source"] == b"/erp/proddta"
    assert headers["ce_time"] == b"2025-02-01T15:35:12Z"
    assert headers["ce_subject"] == b"00020-SO-12345"
    assert headers["content-type"] == b"application/json"
    payload = orjson.loads(record.value)
    assert payload["quantity"] == "0.1"  # a string, never a float
    assert payload["original"] == {"value": "12.00", "uom": "CA"}
    assert from_json(record.value) == event
