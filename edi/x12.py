"""The X12 4010 interchange writer: segments in, one ISA/GS/ST…SE/GE/IEA interchange out.

An interchange here holds one functional group (GS/GE) of one or more transaction sets of the
same functional identifier (an 846 per site, or one 856). The writer owns everything a partner's
translator checks before it reads a single document:

- the ISA segment's fixed widths (106 characters with its terminator): ISA02/ISA04 are ten
  blanks, ISA06/ISA08 are padded to 15, ISA09 is ``YYMMDD``, ISA10 ``HHMM``, ISA13 nine
  digits zero-padded, ISA16 the component separator;
- the control numbers, which are passed in (the caller keeps them unique and increasing per
  partner, in the same transaction as the outbox): ISA13/IEA02, GS06/GE02, and ST02/SE02
  (the first set gets ``transaction_set``, the next ones count up);
- the counts: SE01 (segments of the set, ST and SE included), GE01 (sets in the group),
  IEA01 (groups in the interchange);
- the separators, from the partner's profile, and the values: a value holding a separator, a
  control character or non-ASCII text raises ``X12ValueError`` (an envelope that cannot be
  written raises ``X12Error``) before anything is returned, so a broken file is never
  written. Trailing empty elements (and trailing empty components
  of a composite) are left out, as X12 requires.

Numbers of type R are written by ``number``: no exponent, no trailing zeros, a leading ``-``
for negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from edi.errors import X12Error, X12ValueError

#: An element is a simple value or a composite (its components, in order).
Element = str | tuple[str, ...]

#: Functional identifier (GS01) of each transaction set this package writes.
FUNCTIONAL_GROUPS: dict[str, str] = {"846": "IB", "856": "SH", "944": "RE", "945": "SW"}

VERSION_4010 = "004010"
_ISA_VERSION = "00401"
_MAX_CONTROL = 999_999_999


def _printable(value: str) -> bool:
    return all(" " <= char <= "~" for char in value)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its tag (``BSN``) and its elements from position 01 on."""

    tag: str
    elements: tuple[Element, ...]


def seg(tag: str, *elements: Element | None) -> Segment:
    """A segment; ``None`` is an empty element (trailing ones are dropped when written)."""
    return Segment(tag, tuple("" if e is None else e for e in elements))


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters of an interchange; ``suffix`` follows each terminator (a line break)."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    suffix: Literal["", "\n", "\r\n"] = "\n"

    def __post_init__(self) -> None:
        chars = (self.element, self.component, self.segment)
        for char in chars:
            # A delimiter must be one character that can never be part of a value we write.
            if len(char) != 1 or char.isalnum() or char == " " or not _printable(char):
                raise X12Error(f"separator {char!r} is not one printable non-alphanumeric")
        if len(set(chars)) != 3:
            raise X12Error(f"separators {chars!r} are not distinct")


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who sends an interchange to whom (ISA and GS), from the partner's profile."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    application_sender: str
    application_receiver: str
    usage: Literal["P", "T"] = "P"
    acknowledgment_requested: bool = False
    separators: Separators = Separators()


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """ISA13 (``interchange``), GS06 (``group``) and the first ST02 (``transaction_set``)."""

    interchange: int
    group: int
    transaction_set: int


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One transaction set: its identifier (``856``) and its segments between ST and SE."""

    code: str
    segments: tuple[Segment, ...]


def number(value: Decimal) -> str:
    """An X12 R (decimal) value: ``Decimal("12.500")`` → ``12.5``, ``Decimal("1E+2")`` → ``100``.

    >>> number(Decimal("12.500")), number(Decimal("-3")), number(Decimal("0.00"))
    ('12.5', '-3', '0')
    """
    if not value.is_finite():
        raise X12ValueError(f"{value} is not a finite number")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def write_interchange(
    envelope: Envelope,
    sets: Sequence[TransactionSet],
    *,
    control: ControlNumbers,
    at: datetime,
) -> bytes:
    """The interchange of ``sets`` (one functional group), as the bytes of one file.

    ``at`` is the interchange's date and time as the partner reads it (already in the
    partner's time zone): ISA09/ISA10 and GS04/GS05.
    """
    if not sets:
        raise X12Error("an interchange needs at least one transaction set")
    codes = {s.code for s in sets}
    if len(codes) != 1:
        raise X12Error(f"one functional group per interchange, got sets {sorted(codes)}")
    (code,) = codes
    if code not in FUNCTIONAL_GROUPS:
        raise X12Error(f"transaction set {code!r} has no functional group here")
    for name, value in (
        ("ISA13", control.interchange),
        ("GS06", control.group),
        ("ST02", control.transaction_set),
        ("ST02", control.transaction_set + len(sets) - 1),
    ):
        if not 1 <= value <= _MAX_CONTROL:
            raise X12Error(f"{name} control number {value} is not within 1..999999999")
    sep = envelope.separators
    isa = _isa(envelope, control.interchange, at)
    segments: list[Segment] = [
        seg(
            "GS",
            FUNCTIONAL_GROUPS[code],
            envelope.application_sender,
            envelope.application_receiver,
            at.strftime("%Y%m%d"),
            at.strftime("%H%M"),
            str(control.group),
            "X",
            VERSION_4010,
        )
    ]
    for offset, transaction_set in enumerate(sets):
        st02 = f"{control.transaction_set + offset:04d}"
        body = transaction_set.segments
        segments.append(seg("ST", code, st02))
        segments.extend(body)
        segments.append(seg("SE", str(len(body) + 2), st02))
    segments.append(seg("GE", str(len(sets)), str(control.group)))
    segments.append(seg("IEA", "1", f"{control.interchange:09d}"))
    text = isa + "".join(_render(s, sep) for s in segments)
    return text.encode("ascii")


def _isa(envelope: Envelope, interchange: int, at: datetime) -> str:
    sep = envelope.separators
    for name, value, size in (
        ("ISA05", envelope.sender_qualifier, 2),
        ("ISA07", envelope.receiver_qualifier, 2),
    ):
        if len(value) != size:
            raise X12Error(f"{name} {value!r} must be exactly {size} characters")
    for name, value in (("ISA06", envelope.sender_id), ("ISA08", envelope.receiver_id)):
        if not 1 <= len(value) <= 15:
            raise X12Error(f"{name} {value!r} must be 1 to 15 characters")
    elements = (
        "00",
        " " * 10,
        "00",
        " " * 10,
        envelope.sender_qualifier,
        envelope.sender_id.ljust(15),
        envelope.receiver_qualifier,
        envelope.receiver_id.ljust(15),
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        "U",
        _ISA_VERSION,
        f"{interchange:09d}",
        "1" if envelope.acknowledgment_requested else "0",
        envelope.usage,
    )
    for position, value in enumerate(elements, start=1):
        _check(value, sep, f"ISA{position:02d}")
    # ISA16 is the component separator itself; the ISA is never trimmed (fixed widths).
    fields = "".join(sep.element + e for e in elements)
    return f"ISA{fields}{sep.element}{sep.component}{sep.segment}{sep.suffix}"


def _render(segment: Segment, sep: Separators) -> str:
    if not (2 <= len(segment.tag) <= 3 and segment.tag.isalnum() and segment.tag.isupper()):
        raise X12Error(f"segment tag {segment.tag!r} is not an X12 tag")
    values: list[str] = []
    for position, element in enumerate(segment.elements, start=1):
        where = f"{segment.tag}{position:02d}"
        if isinstance(element, tuple):
            components = list(element)
            while components and components[-1] == "":
                components.pop()
            for index, component in enumerate(components, start=1):
                _check(component, sep, f"{where}-{index}")
            values.append(sep.component.join(components))
        else:
            _check(element, sep, where)
            values.append(element)
    while values and values[-1] == "":
        values.pop()
    if not values:
        raise X12Error(f"segment {segment.tag} has no value")
    return segment.tag + sep.element + sep.element.join(values) + sep.segment + sep.suffix


def _check(value: str, sep: Separators, where: str) -> None:
    for name, char in (
        ("element separator", sep.element),
        ("component separator", sep.component),
        ("segment terminator", sep.segment),
    ):
        if char in value:
            raise X12ValueError(f"{where}: value {value!r} contains the {name} {char!r}")
    if not _printable(value):
        raise X12ValueError(f"{where}: value {value!r} holds a control or non-ASCII character")
