"""The carrier feed end to end: ``scv sim run --carrier`` posts journeys over HTTP to a real
``scv carrier serve`` (PostgreSQL outbox, transactional relay to Kafka), which is killed with
SIGKILL mid-run and started again.

Then every shipment event the ledger expects of the run is on ``scv.shipment.v1`` exactly once
(``legacy_sim.verify``'s facts: nothing missing, duplicated or unexpected, no event id twice);
every malformed update the journeys sent is in the rejects table; and a webhook replayed by
hand adds nothing. The receiver has its own topic prefix, database schema and transactional
id, so it neither reads nor fences anyone else's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from chain import Receiver, free_port

from kafkaio import read_committed
from legacy_sim.verify import (
    CARRIER_SCANS,
    Found,
    compare,
    expected_from_ledger,
    found_from_stream,
    read_ledger,
    render,
)

CARRIER_TYPES = CARRIER_SCANS | {"shipment.delivered"}


def _scv(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture
def receiver(endpoints: dict[str, str], tmp_path: Path) -> Iterator[Receiver]:
    tag = f"itc{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **endpoints,
        "SCV_CARRIER_TOPIC_PREFIX": f"{tag}.",
        "SCV_CARRIER_DB_SCHEMA": tag,
        "SCV_CARRIER_TRANSACTIONAL_ID": f"{tag}-relay",
        # Small transactions, so a kill lands between them as well as inside one.
        "SCV_CARRIER_RELAY_BATCH": "7",
    }
    found = Receiver(env, free_port(), tmp_path / "serve.log")
    try:
        yield found
    finally:
        found.stop()
        with psycopg.connect(endpoints["SCV_STORE_DSN"].replace("+psycopg", "")) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE')


def _shipment_events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(m.value() or b"null") for m in read_committed(bootstrap, [topic])]


def test_every_journey_reaches_the_topic_exactly_once_through_a_kill_9(
    receiver: Receiver, endpoints: dict[str, str], tmp_path: Path
) -> None:
    env = receiver.env
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    topic = f"{env['SCV_CARRIER_TOPIC_PREFIX']}scv.shipment.v1"
    _scv(env, "sim", "init", "--seed", "19")
    receiver.start()
    # Orders need a few business transactions to reach the dock: a warm-up run, no journeys.
    _scv(env, "sim", "run", "--rate", "40", "--duration", "8", "--seed", "3")
    log = tmp_path / "sim.log"
    with log.open("ab") as out:
        sim = subprocess.Popen(
            [sys.executable, "-m", "scv", "sim", "run", "--rate", "40", "--duration", "25",
             "--seed", "5", "--carrier", "--carrier-url", f"{receiver.url}/v1/tracking"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    time.sleep(10)
    before = receiver.health()
    receiver.kill()
    time.sleep(2)  # the feed's posts meanwhile fail and are retried
    receiver.start()
    assert sim.wait(300) == 0, log.read_text()
    output = log.read_text()
    run_id = int(output.split("sim: run ", 1)[1].split(" ", 1)[0])

    ledger = read_ledger(endpoints["SCV_STORE_DSN"], [run_id])
    journeys_events = [
        e for tx in ledger.transactions if tx["committed"] for e in tx["events"]
        if e["type"] in CARRIER_TYPES or e["type"] == "carrier.rejected"
    ]  # fmt: skip
    assert before["outbox"] > 0, "the kill came before any update was accepted"
    assert len(journeys_events) > before["outbox"], "the kill came after the last update"

    health = receiver.wait_relayed()
    expected = expected_from_ledger(ledger.transactions)
    expected.facts = {k: v for k, v in expected.facts.items() if k in CARRIER_TYPES}
    events = _shipment_events(bootstrap, topic)
    found = found_from_stream(events, [], since=ledger.since, until=None)
    report = compare(expected, Found(facts=found.facts, duplicate_ids=found.duplicate_ids))
    assert report.ok, "\n".join(render(report))
    # Exceptions and ETA changes are a share of the journeys: a run may lack one of them.
    assert {"shipment.in_transit", "shipment.delivered"} <= set(report.types) <= CARRIER_TYPES
    assert len({e["event_id"] for e in events}) == len(events)

    # Every malformed update sent is kept, with its reason; nothing else was refused.
    rejects = _scv(env, "carrier", "rejects", "--limit", "10000")
    malformed = sum(e["type"] == "carrier.rejected" for e in journeys_events)
    assert health["rejects"] == malformed
    if malformed:
        assert rejects.count("in_transit.location: Field required") == malformed, rejects
    assert "carrier feed" not in output, output

    # A webhook replayed adds nothing; the same id with another body is refused and kept.
    update = {
        "event_id": f"REPLAY-{uuid.uuid4().hex[:6]}", "carrier": "UPS", "type": "picked_up",
        "occurred_at": "2026-12-04T10:15:00+01:00", "tracking_no": "UP1",
        "shipment": {"shipment_id": "MBREPLAY", "order_id": "X-SO-1", "wms_order_key": "W1"},
    }  # fmt: skip
    answers = [
        httpx.post(f"{receiver.url}/v1/tracking", content=orjson.dumps(update)).status_code
        for _ in range(3)
    ]
    assert answers == [202, 200, 200]
    changed = httpx.post(
        f"{receiver.url}/v1/tracking", content=orjson.dumps(update | {"tracking_no": "UP2"})
    )
    assert changed.status_code == 409
    after = receiver.wait_relayed()
    assert after["outbox"] == health["outbox"] + 1
    assert after["rejects"] == health["rejects"] + 1
    replayed = [e for e in _shipment_events(bootstrap, topic) if e["shipment_id"] == "MBREPLAY"]
    assert len(replayed) == 1
