"""Webhook bodies the unit tests of the carrier stage share (the receiver's wire format, as the
simulator's ``legacy_sim.carrier_feed`` writes it)."""

from __future__ import annotations

from typing import Any

import orjson

REFS = {"shipment_id": "MB0000042", "order_id": "00001-SO-7", "wms_order_key": "0000000042"}

EXTRA: dict[str, dict[str, Any]] = {
    "picked_up": {},
    "in_transit": {"location": {"city": "Lyon", "region": "ARA", "country": "FR"}},
    "out_for_delivery": {},
    "delivered": {"proof_of_delivery": {"signed_by": "J. MARTIN", "reference": "POD-1"}},
    "exception": {"reason_code": "RECIPIENT_ABSENT", "description": "nobody home"},
    "eta_changed": {"eta": "2026-12-06T16:00:00+01:00", "previous_eta": "2026-12-05T12:00:00Z"},
}


def update(kind: str, event_id: str = "UPS-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id,
        "carrier": "UPS",
        "type": kind,
        "occurred_at": "2026-12-04T10:15:00+01:00",
        "tracking_no": "UP123456789012",
        "shipment": dict(REFS),
    }
    body |= EXTRA[kind]
    body |= changes
    return body


def body(kind: str, event_id: str = "UPS-1", **changes: Any) -> bytes:
    return orjson.dumps(update(kind, event_id, **changes))
