"""The batch's own X12 4010 writer: fixed-width ISA, GS/GE, ST/SE, IEA, counts filled in.

It is the old job's writer, not the stream's (``edi.x12``), so the parity report compares two
implementations. Like such writers it cleans values instead of refusing them: a separator or
a character outside printable ASCII inside a value becomes a blank. Trailing empty elements
are dropped; the ISA keeps its fixed widths (106 characters with its terminator).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from legacy_sim.batch.partners import Partner
from legacy_sim.errors import SimConfigError

#: One segment: its tag, then its elements from position 01.
Seg = tuple[str, ...]

GROUP_OF = {"846": "IB", "856": "SH", "944": "RE", "945": "SW"}


def qty(value: Decimal) -> str:
    """An R value: no exponent, no trailing zeros (``12.50`` → ``12.5``, ``-0`` → ``0``)."""
    text = f"{value.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def local(partner: Partner, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(partner.time_zone))


def date8(partner: Partner, at: datetime) -> str:
    return local(partner, at).strftime("%Y%m%d")


def clock(partner: Partner, at: datetime) -> str:
    return local(partner, at).strftime("%H%M%S" if partner.time_format == "HHMMSS" else "%H%M")


def interchange(
    partner: Partner, code: str, sets: Sequence[Sequence[Seg]], *, control: int, at: datetime
) -> bytes:
    """One file: ISA, one GS group of ``sets`` (each the segments between ST and SE), IEA.

    ``control`` is ISA13 and GS06; ST02 counts from 0001. ``at`` stamps ISA09/10, GS04/05.
    """
    if not 1 <= control <= 999_999_999:
        raise SimConfigError(f"interchange control number {control} is out of range")
    if not sets:
        raise SimConfigError(f"no transaction set for an interchange of {code}")
    when = local(partner, at)
    lines = [_isa(partner, control, when)]
    lines.append(
        _seg(
            partner,
            (
                "GS",
                GROUP_OF[code],
                partner.application_sender,
                partner.application_receiver,
                when.strftime("%Y%m%d"),
                when.strftime("%H%M"),
                str(control),
                "X",
                "004010",
            ),
        )
    )
    for n, body in enumerate(sets, start=1):
        st02 = f"{n:04d}"
        lines.append(_seg(partner, ("ST", code, st02)))
        lines.extend(_seg(partner, s) for s in body)
        lines.append(_seg(partner, ("SE", str(len(body) + 2), st02)))
    lines.append(_seg(partner, ("GE", str(len(sets)), str(control))))
    lines.append(_seg(partner, ("IEA", "1", f"{control:09d}")))
    return "".join(lines).encode("ascii")


def _isa(partner: Partner, control: int, when: datetime) -> str:
    e = partner.element
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        partner.sender_qualifier[:2].ljust(2),
        partner.sender_id[:15].ljust(15),
        partner.receiver_qualifier[:2].ljust(2),
        partner.receiver_id[:15].ljust(15),
        when.strftime("%y%m%d"),
        when.strftime("%H%M"),
        "U",
        "00401",
        f"{control:09d}",
        "1" if partner.acknowledgment_requested else "0",
        partner.usage,
        partner.component,
    ]
    return e.join(fields) + partner.segment + ("\n" if partner.line_break else "")


def _seg(partner: Partner, segment: Seg) -> str:
    tag, *values = segment
    cleaned = [_clean(partner, v) for v in values]
    while cleaned and cleaned[-1] == "":
        cleaned.pop()
    text = partner.element.join([tag, *cleaned])
    return text + partner.segment + ("\n" if partner.line_break else "")


def _clean(partner: Partner, value: str) -> str:
    bad = {partner.element, partner.component, partner.segment}
    return "".join(" " if c in bad or not " " <= c <= "~" else c for c in value)
