"""The recorded WMS ``ORDERS`` envelopes carry the consignee's name and address hashed.

The connector's ``HashPii`` transform writes the lowercase hex of HMAC-SHA256 (64 characters)
instead of ``C_Company``/``C_Address1``/``C_City``; the ORDERS mapper knows the columns (no
schema drift) and no canonical event carries them.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium" / "wms" / "ORDERS"
HEX64 = re.compile(r"[0-9a-f]{64}")
PII = ("C_Company", "C_Address1", "C_City")
CASES = sorted(
    p
    for p in FIXTURES.glob("*.json")
    if not p.name.endswith(".expected.json") and p.stem != "tombstone"
)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_consignee_columns_are_hashed_in_every_image(path: Path) -> None:
    envelope = orjson.loads(orjson.loads(path.read_bytes())["value"])
    images = [i for i in (envelope["before"], envelope["after"]) if i is not None]
    assert images
    for image in images:
        for column in PII:
            assert HEX64.fullmatch(image[column]), f"{path.name}: {column}={image[column]!r}"


def test_no_golden_outcome_carries_a_consignee_value() -> None:
    for path in FIXTURES.glob("*.expected.json"):
        text = path.read_text()
        assert not HEX64.search(text), path.name
        assert not any(column in text for column in PII), path.name
