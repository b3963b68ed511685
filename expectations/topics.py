"""The quarantine topic read back for the quarantine workflow and the quality report.

The read itself is ``kafkaio.read_committed``: every committed record up to each partition's
high watermark as of the start, waiting (bounded) for open transactions.
"""

from __future__ import annotations

from datetime import datetime

from confluent_kafka import Message

from expectations.quarantine import QuarantineRecord
from kafkaio import read_committed


def quarantine_record(message: Message) -> QuarantineRecord:
    found = message.headers()
    pairs = found.items() if isinstance(found, dict) else (found or ())
    headers = tuple((str(k), v.encode() if isinstance(v, str) else v) for k, v in pairs)
    _kind, timestamp = message.timestamp()
    return QuarantineRecord(
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp_ms=int(timestamp),
        key=message.key(),
        value=message.value(),
        headers=headers,
    )


def read_quarantine(
    bootstrap: str, topic: str, *, since: datetime | None = None, rule: str | None = None
) -> list[QuarantineRecord]:
    """The quarantine topic's records (since ``since``, failing ``rule``), in id order."""
    records = [
        record
        for message in read_committed(bootstrap, [topic], since=since)
        if (record := quarantine_record(message)).matches(rule=rule, since=since)
    ]
    records.sort(key=lambda r: (r.timestamp_ms, r.partition, r.offset))
    return records
