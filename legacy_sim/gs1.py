"""GS1 keys with valid check digits, so exported EPCIS and label data look real."""

from __future__ import annotations

#: The GS1 company prefix from the GS1 examples (0614141), used for every generated key.
COMPANY_PREFIX = "0614141"


def check_digit(body: str) -> str:
    """GS1 mod-10 check digit: weights 3,1,3,... from the right of the body."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gtin14(item_reference: int, indicator: int = 0) -> str:
    """GTIN-14: indicator + company prefix + item reference (5 digits) + check digit."""
    body = f"{indicator}{COMPANY_PREFIX}{item_reference:05d}"
    return body + check_digit(body)


def sscc(serial: int, extension: int = 0) -> str:
    """SSCC-18: extension + company prefix + serial reference (9 digits) + check digit."""
    body = f"{extension}{COMPANY_PREFIX}{serial:09d}"
    return body + check_digit(body)
