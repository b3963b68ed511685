"""The pipeline's outputs read back, for a check against an oracle (``scv sim verify``).

Both read every record committed up to the topics' ends as of now (``read_committed``); a read
that cannot finish raises ``KafkaIOError``, never a short answer.

- ``canonical_payloads``: the canonical events' JSON payloads;
- ``quarantined_rows``: the source row each quarantine record stands for, as (``system.table``,
  business key). The key is the one the table's mapper gives the row (``erp_f4211.order_id_of``;
  the journal's ``ItrnKey``; the probe reading's ``SerialKey``): the oracle keys what it expects
  in quarantine by its own rules, and the two meet only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from transforms.envelope import Row, parse_change_event
from transforms.errors import DataError
from transforms.events import CANONICAL_TOPICS
from transforms.mappers.erp_f4211 import order_id_of
from transforms.quirks import epoch_millis

if TYPE_CHECKING:
    from confluent_kafka import Message

    from transforms.settings import TransformsSettings

#: The business key of a row, per table whose rows the simulator expects in quarantine.
BUSINESS_KEYS: dict[str, Callable[[Row], str]] = {
    "erp.f4211": order_id_of,
    "wms.ITRN": lambda row: row.required_text("ItrnKey"),
    "wms.ZZ_TEMP_LOG": lambda row: str(row.required_integer("SerialKey")),
}


def canonical_payloads(settings: TransformsSettings) -> Iterator[dict[str, Any]]:
    """Every canonical event of the topics ``settings`` names, as its JSON payload."""
    import orjson

    from kafkaio import read_committed

    topics = [settings.topic(t) for t in CANONICAL_TOPICS]
    for message in read_committed(settings.kafka_bootstrap, topics):
        payload = orjson.loads(message.value() or b"null")
        if payload is not None:
            yield payload


def quarantined_rows(
    settings: TransformsSettings, since: datetime | None, until: datetime | None = None
) -> Iterator[tuple[str, str]]:
    """The source rows of the quarantine topic's records recorded in [since, until]."""
    from kafkaio import read_committed

    topic = settings.topic(settings.quarantine_topic)
    for message in read_committed(settings.kafka_bootstrap, [topic]):
        row = quarantined_row(message, since, until)
        if row is not None:
            yield row


def quarantined_row(
    message: Message, since: datetime | None, until: datetime | None = None
) -> tuple[str, str] | None:
    """The source row a quarantine record stands for: (``system.table``, business key).

    None: recorded at the source outside [since, until]. A record that is no change event is
    (``tombstone`` or ``undecodable``, ``topic:partition:offset``); a row of a table without a
    key here is (``system.table``, ``topic:partition:offset``).
    """
    where = f"{message.topic()}:{message.partition()}:{message.offset()}"
    try:
        change = parse_change_event(message.value())
        if change is None:
            return ("tombstone", where)
        recorded = epoch_millis(change.source_ts_ms)
        if (since is not None and recorded < since) or (until is not None and recorded > until):
            return None
        row = change.row
        table = f"{change.table.system}.{change.table.table}"
        key = BUSINESS_KEYS.get(table)
        ident = where if key is None else key(row)
    except DataError:
        return ("undecodable", where)
    return (table, ident)
