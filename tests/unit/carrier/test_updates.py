from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from carrier.updates import MAX_BODY_BYTES, Refused, parse

from .updates import EXTRA, body, update


@pytest.mark.parametrize("kind", sorted(EXTRA))
def test_every_update_type_parses_with_its_time_in_utc(kind: str) -> None:
    parsed = parse(body(kind))
    assert parsed.type == kind
    assert parsed.occurred_at == datetime(2026, 12, 4, 9, 15, tzinfo=UTC)
    assert parsed.shipment.shipment_id == "MB0000042"


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("in_transit", "location"),
        ("delivered", "proof_of_delivery"),
        ("exception", "reason_code"),
        ("eta_changed", "eta"),
    ],
)
def test_an_update_without_what_its_type_requires_is_refused_naming_the_field(
    kind: str, field: str
) -> None:
    broken = {k: v for k, v in update(kind).items() if k != field}
    with pytest.raises(Refused) as refused:
        parse(orjson.dumps(broken))
    assert f"{kind}.{field}: Field required" in refused.value.reason


def test_a_time_without_an_offset_is_refused() -> None:
    with pytest.raises(Refused, match="occurred_at"):
        parse(body("picked_up", occurred_at="2026-12-04T10:15:00"))


def test_an_unknown_type_and_an_unknown_reason_code_are_refused() -> None:
    with pytest.raises(Refused, match="does not match any of the expected tags"):
        parse(body("picked_up", type="teleported"))
    with pytest.raises(Refused, match="reason_code"):
        parse(body("exception", reason_code="ALIENS"))


def test_a_misspelt_field_is_refused_not_ignored() -> None:
    with pytest.raises(Refused, match="trackingNo: Extra inputs are not permitted"):
        parse(body("picked_up", trackingNo="x"))


def test_not_json_and_an_oversized_body_are_refused() -> None:
    with pytest.raises(Refused, match="Invalid JSON"):
        parse(b"{not json")
    with pytest.raises(Refused, match="over the"):
        parse(b" " * (MAX_BODY_BYTES + 1))


def test_the_reason_never_quotes_the_refused_value() -> None:
    with pytest.raises(Refused) as refused:
        parse(body("in_transit", location={"city": "Lyon", "country": "secret-value"}))
    assert "secret-value" not in refused.value.reason
    assert "location.country" in refused.value.reason
