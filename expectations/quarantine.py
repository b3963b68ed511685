"""Quarantine records as the quality owners see them: what failed, where it came from, and the
original record with sensitive fields masked.

A quarantine record (``scv.quarantine.v1``) keeps the original key, value and headers and
appends the pipeline's, read here through ``transforms.deadletter.DeadLetter`` (the one place
the header names are written and read). Its id is ``<partition>:<offset>`` in the quarantine
topic. Pure: no Kafka here (``kafkaio.read_records`` reads the topic; ``from_records`` turns
what it read into these records).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from expectations.errors import InvalidSince
from kafkaio import Record
from transforms import deadletter
from transforms.deadletter import DeadLetter

#: Why the record was quarantined, as free text; it may quote the record, so it is shown masked.
DETAIL_HEADER: Final = deadletter.DETAIL

#: Fields whose values never leave quarantine unmasked (compared case-insensitively, at any
#: depth of the record): customers, ship-to parties, their order references, prices and
#: amounts, and the people and workstations that keyed the rows.
SENSITIVE_FIELDS: Final = frozenset(
    {
        # ERP F4211/F4311 (JDE): customer / supplier address numbers, customer PO, prices
        "sdan8", "sdshan", "sdvr01", "sduprc", "sdaexp", "sduser", "sdpid", "sdjobn",
        "pdan8", "pdprrc", "pdaexp", "pduser", "pdpid", "pdjobn",
        # WMS (Infor): consignee, addresses, contacts, who did it
        "consigneekey", "c_company", "c_address1", "c_address2", "c_contact1", "c_phone1",
        "externorderkey", "addwho", "editwho",
        # canonical events
        "customer_id", "customer_po", "ship_to", "unit_price", "amount", "supplier_id",
    }
)  # fmt: skip
#: Substrings that make any field name sensitive.
SENSITIVE_PARTS: Final = ("address", "phone", "email", "contact", "password", "secret")
MASK: Final = "•••"


def is_sensitive(field: str) -> bool:
    name = field.lower()
    return name in SENSITIVE_FIELDS or any(part in name for part in SENSITIVE_PARTS)


def mask(value: Any) -> Any:
    """A copy of a JSON value with every sensitive field's (non-null) value replaced."""
    if isinstance(value, Mapping):
        return {
            k: (MASK if is_sensitive(str(k)) and v is not None else mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


#: ``name=value``, ``name: value`` or ``'name': 'value'`` in free text; masked when the name is
#: sensitive (an exception message that quotes a field).
_NAMED_VALUE = re.compile(
    r"""(?P<name>\b[A-Za-z_][A-Za-z0-9_]*)['"]?\s*[=:]\s*(?P<value>'[^']*'|"[^"]*"|[^\s,;)}\]]+)"""
)
#: Shorter values are not searched for in free text: "1" would mask every digit 1.
_MIN_MASKED_CHARS = 3


def _sensitive_values(value: Any, found: set[str]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, (Mapping, list)):
                _sensitive_values(v, found)
            elif is_sensitive(str(k)) and v is not None and not isinstance(v, bool):
                found.update({str(v), str(v).strip()})
    elif isinstance(value, list):
        for v in value:
            _sensitive_values(v, found)


def mask_text(text: str, *records: bytes | None) -> str:
    """Free text (a quarantine detail) masked as the records' values are: every value of a
    sensitive field of ``records`` (raw JSON) and every value named by a sensitive field."""
    found: set[str] = set()
    for data in records:
        try:
            _sensitive_values(json.loads(data) if data else None, found)
        except ValueError:
            continue  # not JSON: only the named values below are masked
    for secret in sorted(found, key=len, reverse=True):
        if len(secret) >= _MIN_MASKED_CHARS:
            text = text.replace(secret, MASK)

    def named(match: re.Match[str]) -> str:
        if not is_sensitive(match["name"]):
            return match[0]
        return match[0][: match.start("value") - match.start()] + MASK

    return _NAMED_VALUE.sub(named, text)


def masked_json(data: bytes | None) -> Any:
    """The record's JSON value, masked (Debezium nests ``before``/``after`` images: all
    depths are masked); a value that is not JSON is shown as its length only."""
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return f"<{len(data)} bytes, not JSON>"
    return mask(parsed)


_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, *, now: datetime) -> datetime:
    """``--since``: an ISO 8601 time (naive = UTC) or a duration back from ``now`` (``90m``)."""
    found = _DURATION.match(text.strip())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidSince(
            f"--since {text!r}: expected an ISO 8601 time (2026-11-27T10:00) or a duration "
            "(30s, 15m, 2h, 7d)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """One record of the quarantine topic."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    #: The pipeline's headers, read once (``transforms.deadletter``).
    letter: DeadLetter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "letter", DeadLetter.from_headers(self.headers))

    @classmethod
    def of(cls, record: Record) -> QuarantineRecord:
        """A record read from the quarantine topic (``kafkaio.read_records``)."""
        return cls(
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms,
            key=record.key,
            value=record.value,
            headers=record.headers,
        )

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)

    @property
    def original_headers(self) -> tuple[tuple[str, bytes | None], ...]:
        return tuple(deadletter.split(self.headers)[0])

    @property
    def added_headers(self) -> tuple[tuple[str, bytes | None], ...]:
        return tuple(deadletter.split(self.headers)[1])

    @property
    def rule(self) -> str:
        """The first failed rule (``__rule.name``; the stage's reason for older records)."""
        return self.letter.rule

    @property
    def failed_rules(self) -> list[str]:
        return list(self.letter.failed_rules)

    @property
    def stage(self) -> str:
        return self.letter.stage

    @property
    def detail(self) -> str:
        """As the pipeline wrote it: may quote record values; show :attr:`masked_detail`."""
        return self.letter.detail

    @property
    def masked_detail(self) -> str:
        return mask_text(self.detail, self.key, self.value)

    @property
    def event_types(self) -> list[str]:
        return list(self.letter.event_types)

    @property
    def event_ids(self) -> list[str]:
        return list(self.letter.event_ids)

    @property
    def suites(self) -> list[str]:
        return list(self.letter.suites)

    @property
    def original_topic(self) -> str:
        return self.letter.original_topic

    @property
    def original_partition(self) -> int:
        return self.letter.original_partition

    @property
    def original_offset(self) -> int:
        return self.letter.original_offset

    @property
    def source_table(self) -> str:
        """``system.table`` of the original raw topic (``erp.proddta.f4211`` → ``erp.f4211``)."""
        parts = self.original_topic.split(".")
        return f"{parts[0]}.{parts[-1]}" if len(parts) >= 2 else self.original_topic or "?"

    @property
    def kind(self) -> str:
        """The event type(s) the gate refused, or the stage that refused the raw row."""
        return ",".join(self.event_types) or f"({self.stage or '?'})"

    def matches(self, *, rule: str | None = None, since: datetime | None = None) -> bool:
        if rule is not None and rule not in self.failed_rules and rule != self.rule:
            return False
        return since is None or self.time >= since

    def describe(self) -> dict[str, Any]:
        """``scv quarantine show``: everything about the record, sensitive fields masked."""
        return {
            "id": self.id,
            "quarantined_at": self.time.isoformat(),
            "rule": self.rule,
            "failed_rules": self.failed_rules,
            "stage": self.stage,
            "detail": self.masked_detail,
            "suites": self.suites,
            "event_ids": self.event_ids,
            "event_types": self.event_types,
            "original": {
                "topic": self.original_topic,
                "partition": self.original_partition,
                "offset": self.original_offset,
            },
            "headers": {name: self._header_text(name, value) for name, value in self.added_headers},
            "original_headers": {
                name: self._header_text(name, value) for name, value in self.original_headers
            },
            "key": masked_json(self.key),
            "value": masked_json(self.value),
        }

    def _header_text(self, name: str, value: bytes | None) -> str | None:
        if value is None:
            return None
        if is_sensitive(name):
            return MASK
        text = value.decode(errors="replace")
        return mask_text(text, self.key, self.value) if name == DETAIL_HEADER else text


def from_records(
    records: Iterable[Record], *, since: datetime | None = None, rule: str | None = None
) -> list[QuarantineRecord]:
    """The quarantine records among ``records`` (since ``since``, failing ``rule``), in id
    order: ``from_records(kafkaio.read_records(bootstrap, [topic], since=since), ...)``."""
    found = [
        quarantined
        for record in records
        if (quarantined := QuarantineRecord.of(record)).matches(rule=rule, since=since)
    ]
    found.sort(key=lambda r: (r.timestamp_ms, r.partition, r.offset))
    return found


def find(records: Sequence[QuarantineRecord], record_id: str) -> QuarantineRecord | None:
    return next((r for r in records if r.id == record_id), None)
