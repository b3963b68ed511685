"""One accepted tracking update → its canonical ``shipment.*`` event (a pure function).

=====================  ==========================================================
carrier update type    canonical event
=====================  ==========================================================
``picked_up``          ``shipment.in_transit`` (stage ``picked_up``)
``in_transit``         ``shipment.in_transit`` (stage ``in_transit``, location)
``out_for_delivery``   ``shipment.in_transit`` (stage ``out_for_delivery``)
``delivered``          ``shipment.delivered`` (signed by, proof reference)
``exception``          ``shipment.delivery_exception`` (reason code)
``eta_changed``        ``shipment.eta_changed`` (new and previous ETA)
=====================  ==========================================================

``event_id`` is the UUIDv5 of (``carrier``, ``tracking``, the carrier's event id, shipment,
event type): the same update mapped twice gives the same id. ``source.position`` is the
carrier's event id; ``recorded_at`` the time the receiver accepted the update (the moment it
became known to scv, as a source commit time is for CDC events).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from carrier.updates import (
    Delivered,
    DeliveryException,
    EtaChanged,
    InTransit,
    OutForDelivery,
    PickedUp,
    TrackingUpdate,
)
from transforms.events import (
    CanonicalEvent,
    CarrierLocation,
    ShipmentDelivered,
    ShipmentDeliveryException,
    ShipmentEtaChanged,
    ShipmentInTransit,
    SourceRef,
    event_id_for,
)

SYSTEM = "carrier"
TABLE = "tracking"


def to_canonical(update: TrackingUpdate, recorded_at: datetime) -> CanonicalEvent:
    """The canonical event of ``update``, accepted at ``recorded_at`` (UTC)."""
    refs = update.shipment
    common: dict[str, Any] = {
        "occurred_at": update.occurred_at.astimezone(UTC),
        "occurred_tz_offset": _offset(update.occurred_at),
        "recorded_at": recorded_at,
        "shipment_id": refs.shipment_id,
        "order_id": refs.order_id,
        "carrier": update.carrier,
        "tracking_no": update.tracking_no,
        "carrier_event_id": update.event_id,
    }
    match update:
        case PickedUp() | InTransit() | OutForDelivery():
            location = (
                None if update.location is None else CarrierLocation(**update.location.model_dump())
            )
            return ShipmentInTransit(
                **_header(update, "shipment.in_transit"),
                **common,
                stage=update.type,
                location=location,
            )
        case Delivered():
            pod = update.proof_of_delivery
            return ShipmentDelivered(
                **_header(update, "shipment.delivered"),
                **common,
                wms_order_key=refs.wms_order_key,
                signed_by=pod.signed_by,
                pod_reference=pod.reference,
            )
        case DeliveryException():
            return ShipmentDeliveryException(
                **_header(update, "shipment.delivery_exception"),
                **common,
                reason_code=update.reason_code,
                description=update.description,
            )
        case EtaChanged():
            return ShipmentEtaChanged(
                **_header(update, "shipment.eta_changed"),
                **common,
                eta=update.eta,
                previous_eta=update.previous_eta,
            )


def _offset(moment: datetime) -> str:
    """``+01:00``: the offset the carrier reported the time in."""
    minutes = int((moment.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _header(update: TrackingUpdate, event_type: str) -> dict[str, Any]:
    return {
        "event_id": event_id_for(
            system=SYSTEM,
            table=TABLE,
            position=f"{update.carrier}:{update.event_id}",
            pk=update.shipment.shipment_id,
            event_type=event_type,
            ordinal=0,
        ),
        "source": SourceRef(
            system=SYSTEM,
            namespace=update.carrier.lower(),
            table=TABLE,
            op="c",
            position=update.event_id,
            pk=update.shipment.shipment_id,
            snapshot=False,
        ),
    }
