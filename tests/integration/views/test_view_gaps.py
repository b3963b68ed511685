"""Canonical events deleted before the views applied them are never skipped without a word.

On a canonical topic of the test's own (topic prefix, serving schema): the view process reads
it to the end (its offsets stored in the serving database), more records arrive, and
``delete_records`` moves the log start past the stored offset, as retention would. ``scv
views run`` then stops with one line naming the partition, the stored offset and the log
start, and a non-zero exit; with ``--allow-gap`` it reads on from the log start and reports the
skipped range. The records are not events (each is rejected as ``malformed_json``, with the
offsets that move past it), which is all the offsets need.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

import kafkaio
from kafkaio import client_config

FIRST, MORE, LOG_START = 10, 5, 12


def _views(env: dict[str, str], schema: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scv", "views", "run", "--until-idle", "--schema", schema, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer(client_config(bootstrap, {"enable.idempotence": True}))
    for i in range(count):
        producer.produce(topic, key=f"k{i}".encode(), value=b"not an event")
    assert producer.flush(30) == 0


def test_a_stored_offset_deleted_from_the_log_stops_the_views_until_allowed(
    endpoints: dict[str, str],
) -> None:
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    run = f"itvg{uuid.uuid4().hex[:8]}"
    schema = run
    topic = f"{run}.scv.order.v1"
    env = {
        **os.environ,
        **endpoints,
        "SCV_VIEWS_TOPIC_PREFIX": f"{run}.",
        "SCV_VIEWS_IDLE_S": "2",
    }
    admin = AdminClient(client_config(bootstrap))
    kafkaio.ensure_topics(bootstrap, [NewTopic(topic, 1, 1)], admin=admin)
    try:
        _produce(bootstrap, topic, FIRST)
        first = _views(env, schema)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"views: {FIRST} messages" in first.stdout

        _produce(bootstrap, topic, MORE)  # offsets FIRST.. FIRST + MORE - 1
        for future in admin.delete_records([TopicPartition(topic, 0, LOG_START)]).values():
            future.result(60)

        refused = _views(env, schema)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert (
            f"{topic}[0]: committed offset {FIRST} is below the log start {LOG_START}"
            in refused.stderr
        )
        assert f"offsets {FIRST}..{LOG_START - 1} ({LOG_START - FIRST})" in refused.stderr
        assert "scv views run --allow-gap" in refused.stderr
        assert "Traceback" not in refused.stderr

        allowed = _views(env, schema, "--allow-gap")
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr
        assert f"views: {FIRST + MORE - LOG_START} messages" in allowed.stdout
        assert "1 gaps skipped (--allow-gap)" in allowed.stdout
        assert (
            f"gap: {topic}[0] offsets {FIRST}..{LOG_START - 1} ({LOG_START - FIRST}) skipped"
            in allowed.stdout
        )

        clean = _views(env, schema)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "views: 0 messages" in clean.stdout
    finally:
        with psycopg.connect(endpoints["SCV_STORE_DSN"].replace("+psycopg", "")) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
