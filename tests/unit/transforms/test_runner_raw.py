"""The runner's edge: a consumed record becomes a ``RawMessage`` whose headers are read late."""

from __future__ import annotations

from confluent_kafka import Message

from transforms.batch import raw_message
from transforms.pipeline import Quarantine, quarantine_headers

DEBEZIUM_HEADERS = [
    ("__debezium.context.connectorLogicalName", b"erp"),
    ("__debezium.context.taskId", b"0"),
]


def test_a_consumed_record_keeps_its_bytes_and_headers() -> None:
    raw = raw_message(
        Message(
            topic="erp.proddta.f4211",
            partition=2,
            offset=7,
            key=b"k",
            value=b"{}",
            headers=DEBEZIUM_HEADERS,
        )
    )
    assert (raw.topic, raw.partition, raw.offset, raw.key, raw.value) == (
        "erp.proddta.f4211",
        2,
        7,
        b"k",
        b"{}",
    )
    assert list(raw.headers) == DEBEZIUM_HEADERS
    assert len(raw.headers) == 2
    assert raw.headers[1] == DEBEZIUM_HEADERS[1]


def test_quarantine_keeps_the_original_headers_first() -> None:
    raw = raw_message(
        Message(topic="t", partition=0, offset=1, value=b"x", headers=DEBEZIUM_HEADERS)
    )
    headers = quarantine_headers(raw, Quarantine("decode", "malformed_json", "x"), instance="i")
    assert headers[:2] == DEBEZIUM_HEADERS
    assert ("scv_quarantine_reason", b"malformed_json") in headers


def test_a_record_without_headers_has_none() -> None:
    raw = raw_message(Message(topic="t", partition=0, offset=1, value=b"x"))
    assert list(raw.headers) == []
