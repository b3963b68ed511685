"""GS1 check digits (GTIN-8/12/13/14): the one check GX has no built-in expectation for.

The hot-path evaluator calls :func:`is_valid_gtin` directly; GX runs it through the custom
``expect_column_values_to_be_valid_gtin`` expectation registered by ``expectations.gx``.
"""

from __future__ import annotations

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def check_digit(body: str) -> int:
    """GS1 mod-10: weights 3, 1, 3, ... from the right of the body (without the check digit).

    >>> check_digit("0061414100001")
    2
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(value: object) -> bool:
    """True for a GTIN of a GS1 length whose last digit is its check digit.

    >>> is_valid_gtin("00614141000012"), is_valid_gtin("00614141000013"), is_valid_gtin("12a4")
    (True, False, False)
    """
    text = value if type(value) is str else str(value)
    if len(text) not in GTIN_LENGTHS or not text.isascii() or not text.isdigit():
        return False
    # Sum the ASCII codes in C (bytes slices), then remove the '0' offsets: far cheaper than a
    # per-digit loop, and this runs once per event with a GTIN (docs/benchmarks.md).
    raw = text.encode()
    tripled, single = raw[-2::-2], raw[-3::-2]
    total = 3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)
    return (10 - total % 10) % 10 == raw[-1] - 48
