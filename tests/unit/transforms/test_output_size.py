"""``serialize``: an output record librdkafka would refuse quarantines its message instead.

librdkafka refuses a record over ``message.max.bytes`` (default 1,000,000) in ``produce``, in
the middle of the batch's transaction; the runner stopped with the transaction open and failed
on the same record at every restart. The size is checked on the serialized records first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest
from confluent_kafka import KafkaException, Producer

from transforms.events import CanonicalEvent, SourceRef, to_kafka
from transforms.pipeline import (
    LIBRDKAFKA_MESSAGE_MAX_BYTES,
    MAX_RECORD_BYTES,
    Emit,
    Quarantine,
    Serialized,
    process,
    record_size,
    serialize,
)
from transforms.settings import TransformsSettings

from .test_mappers import FIXTURES, REGISTRY, raw_fixture, reference

ITEM = FIXTURES / "erp" / "f4101" / "r-item-60002.json"
WRITER = [("scv_writer", b"scv-transforms-0")]


def _item(description: str | None = None) -> Emit:
    """The recorded item master row, its description replaced (CHAR(30) in JDE; a wider
    column, or a text type, holds more)."""
    raw = raw_fixture(ITEM)
    if description is not None:
        assert raw.value is not None
        payload = orjson.loads(raw.value)
        payload["after"]["imdsc1"] = description
        raw = raw._replace(value=orjson.dumps(payload))
    outcome = process(raw, REGISTRY, reference(leave_out=ITEM))
    assert isinstance(outcome, Emit), outcome
    assert outcome.events
    assert outcome.state
    return outcome


def test_the_records_are_the_runners() -> None:
    """Events as ``to_kafka`` writes them, state updates as (key, JSON value)."""
    outcome = _item()
    serialized = serialize(outcome, topic_prefix="t.", state_headers=WRITER)
    assert isinstance(serialized, Serialized)
    assert serialized.events == tuple(to_kafka(e, topic_prefix="t.") for e in outcome.events)
    assert serialized.state == tuple(
        (u.key.encode(), None if u.value is None else orjson.dumps(u.value)) for u in outcome.state
    )


def test_a_record_over_the_limit_quarantines_the_message() -> None:
    outcome = _item("x" * 1_000_000)
    q = serialize(outcome, state_headers=WRITER)
    assert isinstance(q, Quarantine), q
    assert (q.stage, q.reason) == ("serialize", "output_too_large")
    assert "item.upserted" in q.detail  # the event...
    assert "state item|60002" in q.detail  # ...and its state record are both too large
    assert f"> {MAX_RECORD_BYTES}" in q.detail
    assert q.events == tuple((str(e.event_id), e.event_type) for e in outcome.events)


def test_the_limit_is_inclusive_and_configurable() -> None:
    outcome = _item("x" * 5_000)
    serialized = serialize(outcome, state_headers=WRITER)
    assert isinstance(serialized, Serialized)
    (record,) = serialized.events
    size = record_size(record.key, record.value, record.headers)
    largest_state = max(record_size(k, v, WRITER) for k, v in serialized.state)
    assert size > largest_state  # the event decides here
    assert isinstance(serialize(outcome, max_record_bytes=size, state_headers=WRITER), Serialized)
    q = serialize(outcome, max_record_bytes=size - 1, state_headers=WRITER)
    assert isinstance(q, Quarantine)
    assert q.reason == "output_too_large"
    assert f"{size} bytes > {size - 1}" in q.detail


def test_record_size_counts_key_value_and_headers() -> None:
    assert record_size(None, None, ()) == 0
    assert record_size(b"k", b"vv", ()) == 3
    assert record_size(b"k", b"vv", [("ab", b"cd"), ("e", None), ("f", "g")]) == 3 + 14 + 11 + 12


def test_a_record_that_cannot_be_serialized_is_a_mapper_exception() -> None:
    """``CanonicalEvent`` itself has no partition key (a mapper bug): quarantined, not raised."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    event = CanonicalEvent(
        event_id=uuid.uuid4(),
        event_type="x.y",
        occurred_at=now,
        recorded_at=now,
        source=SourceRef(
            system="erp",
            namespace="proddta",
            table="t",
            op="c",
            position="lsn:1",
            pk="1",
            snapshot=False,
        ),
    )
    q = serialize(Emit((event,)))
    assert isinstance(q, Quarantine)
    assert (q.stage, q.reason) == ("serialize", "mapper_exception")
    assert q.detail.startswith("mapper_exception: NotImplementedError")


def test_the_settings_default_is_the_pipelines() -> None:
    assert TransformsSettings().max_record_bytes == MAX_RECORD_BYTES
    assert MAX_RECORD_BYTES < LIBRDKAFKA_MESSAGE_MAX_BYTES


def test_librdkafka_accepts_what_passes_and_refuses_what_the_limit_is_for() -> None:
    """The real client (no broker: ``produce`` only queues, and checks the size first)."""
    producer = Producer({"client.id": "scv-size-check", "log_level": 0})
    headers = [(f"ce_header_{i}", b"v" * 100) for i in range(10)]
    try:
        with pytest.raises(KafkaException) as refused:
            producer.produce("t", value=b"x" * (LIBRDKAFKA_MESSAGE_MAX_BYTES + 1))
        assert refused.value.args[0].name() == "MSG_SIZE_TOO_LARGE"
        key = b"20001|ITEM"
        value = b"x" * (MAX_RECORD_BYTES - record_size(key, b"", headers))
        assert record_size(key, value, headers) == MAX_RECORD_BYTES
        producer.produce("t", key=key, value=value, headers=headers)  # accepted
        assert len(producer) == 1
    finally:
        producer.purge()
        producer.flush(0)
