"""``scv epcis run`` on the real chain: one EPCIS event per fact, exactly once through a kill -9.

The module fixture does what a user does, through the CLI: ``scv sim init`` (it resets the
shared legacy databases), ``scv connectors apply`` and the item snapshots, ``scv sim run``
until the canonical topics hold dispatches, receipts, picks and probe readings, then
``scv pipeline run --until-idle`` with its own consumer group and topic prefix. Then
``scv epcis run --until-idle`` with its own group and ``transactional.id``, killed with
``kill -9`` once its first transactions are committed, and run again to idle.

Expected events come from the canonical topics the run reads (the pipeline's own exactly-once
is ``scv sim verify``'s business): every ``goods.received``, ``order.picked``,
``shipment.dispatched`` and ``temperature.recorded`` not read by a snapshot is decided
exactly once, as one record of ``scv.epcis.v1`` or one of ``scv.epcis.rejects.v1`` (the
header ``scv_source_event_id`` names it), never both, never twice; every eventID is unique;
every record is a standalone EPCIS event valid against GS1's schema (format checks on), and
``scv epcis export`` of the same topics writes a valid EPCISDocument of the same events.

The wait for references is 20 s here, not 10 minutes (``SCV_EDI_EPCIS_WAIT_S``).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from chain import namespaced_env, seed_world, spawn, start_group
from confluent_kafka import Consumer
from rawtopics import settled_ends, wait_quiet

import kafkaio
from edi.epcis_flow import CANDIDATES
from kafkaio import client_config
from transforms.events import from_json

RATE, DURATION = 60, 10
SCHEMA = Path(__file__).parents[2] / "fixtures" / "epcis" / "EPCIS-JSON-Schema.json"
SOURCE_HEADER = "scv_source_event_id"
SOURCES = ("scv.shipment.v1", "scv.inbound.v1", "scv.order.v1", "scv.inventory.v1")


def _scv(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@cache
def _validator() -> jsonschema.Draft7Validator:
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    assert {"uri", "date-time"} <= set(checker.checkers)
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()), format_checker=checker)


def _errors(document: Any) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in _validator().iter_errors(document)]


@dataclass(frozen=True)
class Record:
    topic: str
    source: str | None
    value: dict[str, Any]


@dataclass
class Chain:
    env: dict[str, str]
    run: str
    logs: Path

    @property
    def bootstrap(self) -> str:
        return self.env["SCV_KAFKA_BOOTSTRAP"]

    def epcis(self, batch_size: int = 10) -> subprocess.Popen[bytes]:
        env = self.env | {"SCV_EDI_BATCH_SIZE": str(batch_size)}
        return spawn(env, self.logs / "epcis.log", "epcis", "run", "--until-idle")

    def log(self) -> str:
        path = self.logs / "epcis.log"
        return path.read_text() if path.exists() else ""

    def progress(self) -> float:
        """The share of the canonical records the run's group has committed past."""
        topics = [f"{self.run}.{t}" for t in (*SOURCES, "scv.item.v1")]
        parts = kafkaio.partitions(self.bootstrap, topics)
        ends = kafkaio.high_watermarks(self.bootstrap, parts)
        group = self.env["SCV_EDI_EPCIS_GROUP"]
        consumer = Consumer(client_config(self.bootstrap, {"group.id": group}))
        try:
            committed = kafkaio.committed_offsets(consumer, parts, group=group)
        finally:
            consumer.close()
        done = sum(max(offset, 0) for offset in committed.values())
        return done / max(sum(ends.values()), 1)

    def outputs(self) -> list[Record]:
        topics = [f"{self.run}.scv.epcis.v1", f"{self.run}.scv.epcis.rejects.v1"]
        found = []
        for message in kafkaio.read_committed(self.bootstrap, topics):
            headers = dict(message.headers() or [])
            source = headers.get(SOURCE_HEADER)
            value = json.loads(message.value() or b"{}", parse_float=Decimal)
            topic = str(message.topic()).removeprefix(f"{self.run}.")
            found.append(Record(topic, source.decode() if source else None, value))
        return found

    def expected(self) -> dict[str, str]:
        """Source event id → type of every candidate the canonical topics hold."""
        wanted: dict[str, str] = {}
        topics = [f"{self.run}.{t}" for t in SOURCES]
        for message in kafkaio.read_committed(self.bootstrap, topics):
            kind = dict(message.headers() or []).get("ce_type")
            value = message.value()
            if value is None or kind is None or kind.decode() not in CANDIDATES:
                continue
            event = from_json(value)
            if not event.source.snapshot:
                wanted[str(event.event_id)] = event.event_type
        return wanted


def _enough(chain: Chain) -> bool:
    kinds = Counter(chain.expected().values())
    return all(kinds[k] >= 2 for k in CANDIDATES)


@pytest.fixture(scope="module")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Chain:
    env = namespaced_env(endpoints, tag="itp")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    made = Chain(env, run, tmp_path_factory.mktemp(run))
    env |= {
        "SCV_EDI_TOPIC_PREFIX": f"{run}.",
        "SCV_EDI_EPCIS_GROUP": f"{run}-epcis",
        "SCV_EDI_EPCIS_TRANSACTIONAL_ID": f"{run}-epcis",
        "SCV_EDI_BATCH_SIZE": "10",
        "SCV_EDI_IDLE_S": "3",
        "SCV_EDI_EPCIS_WAIT_S": "20",
    }
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start_group(bootstrap, f"{run}-group", settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"]))
    seed_world(env, 919)
    for seed in range(1, 9):
        _scv(env, "sim", "run", "--rate", str(RATE), "--duration", str(DURATION),
             "--seed", str(seed))  # fmt: skip
        wait_quiet(bootstrap)
        _scv(env, "pipeline", "run", "--until-idle")
        if _enough(made):
            break
    else:
        raise AssertionError(f"too few candidates: {Counter(made.expected().values())}")
    return made


@pytest.fixture(scope="module")
def killed_and_restarted(chain: Chain) -> dict[str, str]:
    """``scv epcis run`` killed with ``kill -9`` after its first commits, then run to idle.

    The killed run reads one record per transaction and is killed once its group committed
    a third of the canonical records: mid-reading, with candidates read but not decided yet.
    The restart must rebuild them from the replay and read on from the committed offsets."""
    expected = chain.expected()
    first = chain.epcis(batch_size=1)
    deadline = time.monotonic() + 300
    while chain.progress() < 1 / 3:
        assert first.poll() is None, f"epcis run ended before it could be killed:\n{chain.log()}"
        assert time.monotonic() < deadline, chain.log()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = len(chain.outputs())
    assert killed_at < len(expected), f"the kill must land mid-run ({killed_at} decided)"
    restarted = chain.epcis()
    assert restarted.wait(600) == 0, chain.log()
    log = chain.log()
    assert "decisions read back" in log
    summary = next(line for line in log.splitlines() if " messages, " in line)
    assert not summary.startswith("epcis: 0 messages"), f"the kill came after the reading: {log}"
    return expected


def test_every_candidate_is_decided_exactly_once(
    chain: Chain, killed_and_restarted: dict[str, str]
) -> None:
    outputs = chain.outputs()
    sources = [r.source for r in outputs]
    assert None not in sources, "a record without its source (an unreadable canonical record?)"
    doubled = [s for s, n in Counter(sources).items() if n > 1]
    assert not doubled, f"decided twice: {doubled[:5]}"
    assert set(sources) == set(killed_and_restarted)
    emitted = Counter(killed_and_restarted[r.source] for r in outputs
                      if r.topic == "scv.epcis.v1" and r.source)  # fmt: skip
    assert set(emitted) == CANDIDATES, (emitted, chain.log())
    reasons = Counter(r.value["reason"] for r in outputs if r.topic == "scv.epcis.rejects.v1")
    assert set(reasons) <= {"missing_gtin", "pick_without_line", "nothing_shipped"}, reasons


def test_every_event_is_schema_valid_with_a_unique_event_id(
    chain: Chain, killed_and_restarted: dict[str, str]
) -> None:
    events = [r.value for r in chain.outputs() if r.topic == "scv.epcis.v1"]
    assert events
    for event in events:
        assert not _errors(event), (event, _errors(event))
    ids = Counter(e["eventID"] for e in events)
    assert not [i for i, n in ids.items() if n > 1]
    readings = [e for e in events if e["bizStep"] == "sensor_reporting"]
    assert readings
    assert all(e["sensorElementList"][0]["sensorReport"][0]["uom"] == "CEL" for e in readings)


def test_the_export_is_one_valid_document_of_the_same_events(
    chain: Chain, killed_and_restarted: dict[str, str]
) -> None:
    out = chain.logs / "export.jsonld"
    done = _scv(chain.env, "epcis", "export", "--out", str(out))
    document = json.loads(out.read_bytes(), parse_float=Decimal)
    assert not _errors(document), _errors(document)[:5]
    exported = document["epcisBody"]["eventList"]
    streamed = [r.value for r in chain.outputs() if r.topic == "scv.epcis.v1"]
    assert f"{len(exported)} events" in done.stdout
    # The same events; which of two same-content events carries scv:sourceEventID may differ.
    assert len(exported) == len(streamed)
    plain = {e["eventID"] for e in exported if "scv:sourceEventID" not in e}
    assert plain <= {e["eventID"] for e in streamed}
    later = sorted(e["eventTime"] for e in exported)[len(exported) // 2]
    part = chain.logs / "since.jsonld"
    _scv(chain.env, "epcis", "export", "--since", later, "--out", str(part))
    tail = json.loads(part.read_bytes(), parse_float=Decimal)["epcisBody"]["eventList"]
    assert all(e["eventTime"] >= later for e in tail)
    assert len(tail) == sum(e["eventTime"] >= later for e in exported)


def test_a_second_run_makes_nothing_new(chain: Chain, killed_and_restarted: dict[str, str]) -> None:
    before = chain.outputs()
    again = _scv(chain.env, "epcis", "run", "--until-idle")
    assert " 0 events" in again.stdout, again.stdout
    assert chain.outputs() == before
