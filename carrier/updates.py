"""A carrier's tracking update as it arrives in a webhook body: parsed and validated here.

One JSON object per request::

    {"event_id": "UPS-8c1f...", "carrier": "UPS", "type": "in_transit",
     "occurred_at": "2026-12-04T10:15:00Z", "tracking_no": "1Z...",
     "shipment": {"shipment_id": "MB0000123", "order_id": "00001-SO-42", "wms_order_key": "..."},
     "location": {"city": "Lyon", "region": "ARA", "country": "FR"}}

``type`` is one of ``picked_up``, ``in_transit`` (``location`` required), ``out_for_delivery``,
``delivered`` (``proof_of_delivery`` required), ``exception`` (``reason_code`` required),
``eta_changed`` (``eta`` required). ``shipment`` echoes the shipper's references the carrier
was given at tender (the bill of lading: shipment, order and warehouse order numbers). Times
must carry an offset; unknown fields are refused, so a misspelt field cannot pass as absent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from carrier.errors import CarrierError

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]

#: Reason codes of a delivery exception (the carriers' common set).
REASON_CODES = (
    "RECIPIENT_ABSENT",
    "ADDRESS_INCORRECT",
    "REFUSED",
    "DAMAGED",
    "WEATHER_DELAY",
    "CUSTOMS_HOLD",
    "LOST",
)
ReasonCode = Literal[
    "RECIPIENT_ABSENT",
    "ADDRESS_INCORRECT",
    "REFUSED",
    "DAMAGED",
    "WEATHER_DELAY",
    "CUSTOMS_HOLD",
    "LOST",
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShipperReferences(_Strict):
    shipment_id: Text
    order_id: Text
    wms_order_key: Text


class Location(_Strict):
    city: Text
    region: Text | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ProofOfDelivery(_Strict):
    signed_by: Text
    reference: Text | None = None


class _Update(_Strict):
    event_id: Text
    carrier: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,10}$")]
    tracking_no: Text
    #: As the carrier sent it, offset included (the canonical event keeps the offset apart).
    occurred_at: AwareDatetime
    shipment: ShipperReferences


class PickedUp(_Update):
    type: Literal["picked_up"]
    location: Location | None = None


class InTransit(_Update):
    type: Literal["in_transit"]
    location: Location


class OutForDelivery(_Update):
    type: Literal["out_for_delivery"]
    location: Location | None = None


class Delivered(_Update):
    type: Literal["delivered"]
    proof_of_delivery: ProofOfDelivery


class DeliveryException(_Update):
    type: Literal["exception"]
    reason_code: ReasonCode
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class EtaChanged(_Update):
    type: Literal["eta_changed"]
    eta: AwareDatetime
    previous_eta: AwareDatetime | None = None

    @field_validator("eta", "previous_eta")
    @classmethod
    def _eta_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)


TrackingUpdate = Annotated[
    PickedUp | InTransit | OutForDelivery | Delivered | DeliveryException | EtaChanged,
    Field(discriminator="type"),
]
# mypy cannot see an Annotated union as a type form; pydantic accepts it.
_ADAPTER: TypeAdapter[TrackingUpdate] = TypeAdapter(TrackingUpdate)  # type: ignore[arg-type, unused-ignore]

#: The largest body the receiver reads (a tracking update is well under 2 KiB).
MAX_BODY_BYTES = 16 * 1024


class Refused(CarrierError):
    """Why a body is not a tracking update (``reason``: one line for the 4xx and the rejects)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(body: bytes) -> TrackingUpdate:
    """The update a webhook body holds, or ``Refused`` with the first reasons why not."""
    if len(body) > MAX_BODY_BYTES:
        raise Refused(f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    try:
        return _ADAPTER.validate_json(body)
    except ValidationError as exc:
        raise Refused(describe(exc)) from None


def describe(exc: ValidationError, shown: int = 3) -> str:
    """The first ``shown`` problems as ``field.path: message`` (never the input value)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False)[:shown]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    more = exc.error_count() - shown
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
