from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carrier.mapping import to_canonical
from carrier.updates import parse
from transforms.events import (
    ShipmentDelivered,
    ShipmentDeliveryException,
    ShipmentEtaChanged,
    ShipmentInTransit,
    from_json,
    to_kafka,
)

from .updates import body

AT = datetime(2026, 12, 4, 9, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "event_type"),
    [
        ("picked_up", "shipment.in_transit"),
        ("in_transit", "shipment.in_transit"),
        ("out_for_delivery", "shipment.in_transit"),
        ("delivered", "shipment.delivered"),
        ("exception", "shipment.delivery_exception"),
        ("eta_changed", "shipment.eta_changed"),
    ],
)
def test_each_update_maps_to_its_canonical_event_keyed_by_shipment(
    kind: str, event_type: str
) -> None:
    event = to_canonical(parse(body(kind)), AT)
    assert event.event_type == event_type
    record = to_kafka(event)
    assert (record.topic, record.key) == ("scv.shipment.v1", b"MB0000042")
    assert dict(record.headers)["ce_source"] == b"/carrier/ups"
    assert from_json(record.value) == event
    assert event.source.system == "carrier"
    assert event.source.position == "UPS-1"
    assert event.recorded_at == AT
    assert event.occurred_at == datetime(2026, 12, 4, 9, 15, tzinfo=UTC)
    assert event.occurred_tz_offset == "+01:00"


def test_the_fields_of_each_type_are_carried() -> None:
    scan = to_canonical(parse(body("in_transit")), AT)
    assert isinstance(scan, ShipmentInTransit)
    assert scan.stage == "in_transit"
    assert scan.location is not None
    assert (scan.location.city, scan.location.country) == ("Lyon", "FR")
    assert scan.carrier_event_id == "UPS-1"
    delivered = to_canonical(parse(body("delivered")), AT)
    assert isinstance(delivered, ShipmentDelivered)
    assert (delivered.signed_by, delivered.pod_reference) == ("J. MARTIN", "POD-1")
    assert (delivered.order_id, delivered.wms_order_key) == ("00001-SO-7", "0000000042")
    failed = to_canonical(parse(body("exception")), AT)
    assert isinstance(failed, ShipmentDeliveryException)
    assert failed.reason_code == "RECIPIENT_ABSENT"
    eta = to_canonical(parse(body("eta_changed")), AT)
    assert isinstance(eta, ShipmentEtaChanged)
    assert eta.eta == datetime(2026, 12, 6, 15, tzinfo=UTC)
    assert eta.previous_eta == datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_the_same_update_gets_the_same_event_id_whenever_it_is_mapped() -> None:
    first = to_canonical(parse(body("in_transit")), AT)
    again = to_canonical(parse(body("in_transit")), datetime(2026, 12, 5, tzinfo=UTC))
    other = to_canonical(parse(body("in_transit", event_id="UPS-2")), AT)
    other_carrier = to_canonical(parse(body("in_transit", carrier="DHL")), AT)
    assert first.event_id == again.event_id
    assert len({first.event_id, other.event_id, other_carrier.event_id}) == 3
