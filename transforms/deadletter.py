"""The quarantine (dead-letter) record's contract: the headers the pipeline adds to a message it
quarantines, written and read through one type.

A quarantine record on ``scv.quarantine.v1`` keeps the original key, value and headers and
appends, in this order::

    scv_quarantine_stage      decode | map | gate | serialize (the first added header: every
                              header from it on was added by the pipeline)
    scv_quarantine_reason     the stage's reason (the first failed rule for the gate)
    scv_quarantine_detail     free text, at most 2000 bytes; it may quote record values
    scv_original_topic        where the runner read the original message
    scv_original_partition
    scv_original_offset
    scv_quarantined_by        the runner instance (its transactional id)
    __rule.name               the first failed rule (Confluent's data-contract DLQ convention)
    dq.failed_rules           every failed rule, a JSON list
    dq.suite                  one per gating suite (``name@digest``)
    dq.event_id               one per refused event
    dq.event_type             one per refused event type (each once, in order)

``DeadLetter.to_headers`` writes them (``transforms.pipeline.quarantine_headers``) and
``DeadLetter.from_headers`` reads them back (``expectations.quarantine``), so the header names
exist here only. Pure: no Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import orjson

#: Header names, in the order they are written.
STAGE: Final = "scv_quarantine_stage"
REASON: Final = "scv_quarantine_reason"
DETAIL: Final = "scv_quarantine_detail"
ORIGINAL_TOPIC: Final = "scv_original_topic"
ORIGINAL_PARTITION: Final = "scv_original_partition"
ORIGINAL_OFFSET: Final = "scv_original_offset"
QUARANTINED_BY: Final = "scv_quarantined_by"
RULE: Final = "__rule.name"
FAILED_RULES: Final = "dq.failed_rules"
SUITE: Final = "dq.suite"
EVENT_ID: Final = "dq.event_id"
EVENT_TYPE: Final = "dq.event_type"

#: The header the pipeline's own headers start with (the original headers come before it).
FIRST_ADDED_HEADER: Final = STAGE
#: The detail is cut to this many bytes (a header is no place for a whole record).
MAX_DETAIL_BYTES: Final = 2000

Header = tuple[str, bytes | None]
#: Headers as a record carries them (any sequence of name, value pairs).
AnyHeaders = Sequence[tuple[str, str | bytes | None]]


def split(headers: Sequence[Header]) -> tuple[Sequence[Header], Sequence[Header]]:
    """A quarantine record's headers as (the original message's, the pipeline's)."""
    names = [name for name, _ in headers]
    at = names.index(FIRST_ADDED_HEADER) if FIRST_ADDED_HEADER in names else len(names)
    return headers[:at], headers[at:]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why, where and by whom a message was quarantined."""

    stage: str
    reason: str
    detail: str
    original_topic: str
    original_partition: int
    original_offset: int
    quarantined_by: str
    #: The first failed rule (written as ``reason``; read back, an older record without
    #: ``__rule.name`` gives its reason, or ``?``).
    rule: str
    failed_rules: tuple[str, ...]
    suites: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    #: The refused events' types, each once in order.
    event_types: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        stage: str,
        reason: str,
        detail: str,
        topic: str,
        partition: int,
        offset: int,
        instance: str,
        rules: Sequence[str] = (),
        suites: Sequence[str] = (),
        events: Sequence[tuple[str, str]] = (),
    ) -> DeadLetter:
        """The dead letter of a message quarantined now (``events``: (id, type) pairs)."""
        return cls(
            stage=stage,
            reason=reason,
            detail=detail,
            original_topic=topic,
            original_partition=partition,
            original_offset=offset,
            quarantined_by=instance,
            rule=reason,
            failed_rules=tuple(rules or (reason,)),
            suites=tuple(suites),
            event_ids=tuple(event_id for event_id, _ in events),
            event_types=tuple(dict.fromkeys(event_type for _, event_type in events)),
        )

    def to_headers(self) -> list[tuple[str, str | bytes | None]]:
        """The headers appended to the original message's (see the module docstring)."""
        return [
            (STAGE, self.stage.encode()),
            (REASON, self.reason.encode()),
            (DETAIL, self.detail.encode()[:MAX_DETAIL_BYTES]),
            (ORIGINAL_TOPIC, self.original_topic.encode()),
            (ORIGINAL_PARTITION, str(self.original_partition).encode()),
            (ORIGINAL_OFFSET, str(self.original_offset).encode()),
            (QUARANTINED_BY, self.quarantined_by.encode()),
            (RULE, self.rule.encode()),
            (FAILED_RULES, orjson.dumps(list(self.failed_rules))),
            *[(SUITE, suite.encode()) for suite in self.suites],
            *[(EVENT_ID, event_id.encode()) for event_id in self.event_ids],
            *[(EVENT_TYPE, event_type.encode()) for event_type in self.event_types],
        ]

    @classmethod
    def from_headers(cls, headers: Sequence[Header]) -> DeadLetter:
        """Read back from a quarantine record's headers (all of them, or only the added ones).

        Lenient as a reader of old records must be: a header missing reads as empty (the
        original partition and offset as -1), a repeated one as its last value, and failed
        rules that are not a JSON list as the first rule alone."""
        _original, added = split(headers)
        values: dict[str, list[str]] = {}
        for name, value in added:
            values.setdefault(name, []).append((value or b"").decode(errors="replace"))

        def last(name: str, default: str = "") -> str:
            found = values.get(name)
            return found[-1] if found else default

        rule = last(RULE) or last(REASON, "?")
        text = last(FAILED_RULES)
        try:
            parsed = json.loads(text) if text else []
        except ValueError:
            parsed = []
        rules = tuple(str(r) for r in parsed) if isinstance(parsed, list) and parsed else (rule,)
        return cls(
            stage=last(STAGE),
            reason=last(REASON),
            detail=last(DETAIL),
            original_topic=last(ORIGINAL_TOPIC),
            original_partition=int(last(ORIGINAL_PARTITION, "-1")),
            original_offset=int(last(ORIGINAL_OFFSET, "-1")),
            quarantined_by=last(QUARANTINED_BY),
            rule=rule,
            failed_rules=rules,
            suites=tuple(values.get(SUITE, ())),
            event_ids=tuple(values.get(EVENT_ID, ())),
            event_types=tuple(values.get(EVENT_TYPE, ())),
        )
