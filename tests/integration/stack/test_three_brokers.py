"""``scv stack up --brokers 3``: a broker killed costs a leader election, not a record; a second
one stops the producers with an error instead of an acknowledgement by one copy.

A stack of its own: its own state directory (``$SCV_3B_STATE_DIR``, default ``.scv-3b`` in the
checkout) and ports (brokers 49092/49094/49096, controllers 49093/49095/49097, Connect 48083,
PostgreSQL 45432, MariaDB 43306), started by the test and stopped at its end whatever happens.
The shared stack is never touched. ``make test-brokers`` runs it (about 10 minutes; ``make test``
leaves it out).

1. Every replicated topic (Connect's internal topics, the raw change topics, the Debezium
   history topic, the pipeline's canonical topics, ``__transaction_state``) has 3 replicas and
   ``min.insync.replicas=2``.
2. The simulator writes and the pipeline runs; a probe producer (``acks=all``) writes a record
   every 20 ms. Mid-stream the broker leading most of the probe's partitions is killed
   (``kill -9``) and stays down: the election outage is the longest a probe record waited for
   its acknowledgement, and ``scv sim verify`` must be clean with two brokers.
3. A second broker is killed: a probe record is not acknowledged (an error, within the
   producer's timeout), and after both come back every record that was acknowledged is there.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from chain import Pipeline, Scope, run_id, scv
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from rawtopics import count_ops, settled_ends, wait_quiet
from sqlalchemy import create_engine, text

import kafkaio
from connectors.specs import DEFAULT_SPECS
from kafkaio import client_config
from legacy_sim.verify import read_ledger
from stack.settings import REPO_ROOT

PORTS = {
    "SCV_KAFKA_PORT": "49092",
    "SCV_KAFKA_CONTROLLER_PORT": "49093",
    "SCV_CONNECT_PORT": "48083",
    "SCV_POSTGRES_PORT": "45432",
    "SCV_MARIADB_PORT": "43306",
}
#: Small explicit heaps: three brokers and Connect beside the shared stack on one machine.
HEAP = "256m"
SEED = 53
PROBE_TOPIC = "probe.three-brokers"
#: Errors that say "not stored": what a producer must get with two brokers of three down.
REFUSED = {
    KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    KafkaError._MSG_TIMED_OUT,
    KafkaError.REQUEST_TIMED_OUT,
}


def _report(line: str) -> None:
    sys.stderr.write(f"three-brokers: {line}\n")
    sys.stderr.flush()


@dataclass
class Cluster:
    env: dict[str, str]
    state_dir: Path
    #: The shipped connector specs with this stack's database ports (they name 15432/13306).
    specs: Path
    figures: dict[str, float] = field(default_factory=dict)

    def pid(self, name: str) -> int:
        text = (self.state_dir / "run" / f"{name}.pid").read_text().split()
        return int(text[0])

    def kill(self, name: str) -> None:
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
            assert time.monotonic() < deadline, f"{name} (pid {pid}) did not die"
            time.sleep(0.05)

    def rss_mib(self, name: str) -> float:
        for line in Path(f"/proc/{self.pid(name)}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"no VmRSS for {name}")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    state_dir = Path(os.environ.get("SCV_3B_STATE_DIR", REPO_ROOT / ".scv-3b"))
    # Nothing of the shared stack's environment: endpoints, credentials, state dir.
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCV_")}
    stack_env = {
        **base,
        **PORTS,
        "SCV_STATE_DIR": str(state_dir),
        "SCV_BROKERS": "3",
        "SCV_KAFKA_HEAP": HEAP,
    }
    if os.environ.get("SCV_3B_JAR_CACHE"):
        stack_env["SCV_JAR_CACHE"] = os.environ["SCV_3B_JAR_CACHE"]
    t0 = time.monotonic()
    try:
        scv(stack_env, "stack", "up", "--brokers", "3", timeout=900)
        up_s = time.monotonic() - t0
        exported = scv(stack_env, "stack", "env")
        endpoints = dict(
            line.removeprefix("export ").split("=", 1)
            for line in exported.splitlines()
            if line.startswith("export ")
        )
        env = {**stack_env, **{k: shlex.split(v)[0] for k, v in endpoints.items()}}
        specs = state_dir / "specs"
        specs.mkdir(exist_ok=True)
        for spec in DEFAULT_SPECS.iterdir():
            if spec.name.endswith(".yaml"):
                moved = spec.read_text().replace(
                    "  port: 15432\n", f"  port: {PORTS['SCV_POSTGRES_PORT']}\n"
                )
                moved = moved.replace("  port: 13306\n", f"  port: {PORTS['SCV_MARIADB_PORT']}\n")
                (specs / spec.name).write_text(moved)
        made = Cluster(env, state_dir, specs, {"up_s": up_s})
        yield made
    finally:
        subprocess.run(
            [sys.executable, "-m", "scv", "stack", "down"], env=stack_env, check=False, timeout=300
        )


def _seed(cluster: Cluster) -> None:
    """``chain.seed_world`` with this stack's specs: ``scv sim init``, ``scv connectors
    apply`` and the item tables' snapshots, waited for on their raw topics."""
    env, specs = cluster.env, str(cluster.specs)
    bootstrap = env["SCV_KAFKA_BOOTSTRAP"]
    start = settled_ends(bootstrap, env["SCV_CONNECT_URL"])
    scv(env, "sim", "init", "--seed", str(SEED))
    scv(env, "connectors", "--specs", specs, "apply")
    snapshots = ("f4101", "f41002")
    for table in snapshots:
        scv(env, "connectors", "--specs", specs, "snapshot", "erp", "--table", table)
    engine = create_engine(env["SCV_ERP_DSN"])
    with engine.connect() as conn:
        want = {
            t: conn.execute(text(f"SELECT count(*) FROM proddta.{t}")).scalar_one()
            for t in snapshots
        }
    engine.dispose()
    deadline = time.monotonic() + 180
    for table, rows in want.items():
        while count_ops(bootstrap, f"erp.proddta.{table}", start, "r") < rows:
            assert time.monotonic() < deadline, f"snapshot of {table} did not finish"
            time.sleep(1)


def _await_running(connect_url: str, timeout: float = 240) -> None:
    """Every connector and task of this stack's worker RUNNING (its REST API: `scv connectors
    status` would also check the sources of the shipped specs' ports)."""
    deadline = time.monotonic() + timeout
    while True:
        got = httpx.get(f"{connect_url}/connectors", params={"expand": "status"}, timeout=10)
        states = [
            s
            for entry in got.json().values()
            for s in [entry["status"]["connector"]["state"]]
            + [t["state"] for t in entry["status"]["tasks"]]
        ]
        if states and all(s == "RUNNING" for s in states):
            return
        assert time.monotonic() < deadline, states
        time.sleep(1)


def _admin(bootstrap: str) -> AdminClient:
    return kafkaio.admin_client(bootstrap, {"log_level": 2})


def _replication(bootstrap: str, topics: list[str]) -> dict[str, tuple[int, str]]:
    """Per topic: the fewest replicas of a partition, and its ``min.insync.replicas``."""
    admin = _admin(bootstrap)
    metadata = admin.list_topics(timeout=10).topics
    found: dict[str, tuple[int, str]] = {}
    for name in topics:
        assert name in metadata, f"{name} not in {sorted(metadata)}"
        replicas = min(len(p.replicas) for p in metadata[name].partitions.values())
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        configs = admin.describe_configs([resource])[resource].result(timeout=10)
        found[name] = (replicas, configs["min.insync.replicas"].value)
    return found


@dataclass
class Probe:
    """A producer with ``acks=all`` writing a record every ``interval_s`` to PROBE_TOPIC; each
    record's wait for its acknowledgement, and every acknowledged record, kept."""

    bootstrap: str
    interval_s: float = 0.02
    waits: list[tuple[float, float]] = field(default_factory=list)  # (sent at, waited)
    acked: set[bytes] = field(default_factory=set)
    refused: list[tuple[bytes, KafkaError]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.producer = Producer(
            client_config(
                self.bootstrap,
                {
                    "acks": "all",
                    "enable.idempotence": True,
                    "message.timeout.ms": 20000,
                    "linger.ms": 0,
                    "log_level": 2,
                },
            )
        )
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, sent: float, value: bytes) -> object:
        def report(error: KafkaError | None, _message: Message) -> None:
            if error is None:
                self.acked.add(value)
                self.waits.append((sent, time.monotonic() - sent))
            else:
                self.refused.append((value, error))

        return report

    def _run(self) -> None:
        n = 0
        while not self.stopping.is_set():
            value = f"{uuid.uuid4().hex}-{n}".encode()
            sent = time.monotonic()
            self.producer.produce(PROBE_TOPIC, value, key=str(n).encode(),
                                  on_delivery=self._delivered(sent, value))  # fmt: skip
            self.producer.poll(0)
            n += 1
            time.sleep(self.interval_s)

    def start(self) -> Probe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.producer.flush(60)

    def longest_wait(self, since: float) -> float:
        return max((w for sent, w in self.waits if sent + w >= since), default=0.0)


def _leaders(bootstrap: str) -> dict[int, int]:
    """Probe partition -> its leader's node id."""
    topic = _admin(bootstrap).list_topics(PROBE_TOPIC, timeout=10).topics[PROBE_TOPIC]
    return {p: meta.leader for p, meta in topic.partitions.items()}


def _read_all(bootstrap: str) -> set[bytes]:
    consumer = Consumer(
        client_config(
            bootstrap,
            {
                "group.id": f"probe-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "log_level": 2,
            },
        )
    )
    try:
        parts = _admin(bootstrap).list_topics(PROBE_TOPIC, timeout=10).topics[PROBE_TOPIC]
        consumer.assign([TopicPartition(PROBE_TOPIC, p, 0) for p in parts.partitions])
        pending, seen = set(parts.partitions), set()
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(10_000, timeout=1):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(message.partition())
                    continue
                seen.add(message.value() or b"")
        assert not pending, f"probe partitions not read to their end: {pending}"
        return seen
    finally:
        consumer.close()


def test_three_brokers_survive_one_and_refuse_writes_without_two(
    cluster: Cluster, tmp_path: Path
) -> None:
    env = cluster.env
    bootstrap = env["SCV_KAFKA_BOOTSTRAP"]
    assert bootstrap.count(",") == 2, bootstrap
    kafkaio.ensure_topics(bootstrap, [NewTopic(PROBE_TOPIC, num_partitions=6)])
    start = settled_ends(bootstrap, env["SCV_CONNECT_URL"])
    _seed(cluster)
    pipeline = Pipeline(env, start, f"tb{uuid.uuid4().hex[:8]}", tmp_path)
    pipeline.start_group()
    runner = pipeline.runner("0", until_idle=False)
    probe = Probe(bootstrap).start()
    sim_log = tmp_path / "sim.log"
    try:
        with sim_log.open("wb") as out:
            sim = subprocess.Popen(
                [sys.executable, "-m", "scv", "sim", "run", "--rate", "30", "--seed", "59",
                 "--duration", "45"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        time.sleep(15)
        assert sim.poll() is None, sim_log.read_text()
        leaders = _leaders(bootstrap)
        victim_id = Counter(leaders.values()).most_common(1)[0][0]
        victim = "kafka" if victim_id == 1 else f"kafka-{victim_id}"
        cluster.figures["rss_before_kill_mib"] = sum(
            cluster.rss_mib(n) for n in ("kafka", "kafka-2", "kafka-3")
        )
        killed_at = time.monotonic()
        cluster.kill(victim)
        led = [p for p, node in leaders.items() if node == victim_id]
        _report(f"killed {victim} (leader of probe partitions {led})")
        time.sleep(15)
        cluster.figures["election_outage_s"] = probe.longest_wait(killed_at)
        assert probe.refused == [], f"refused with one broker down: {probe.refused[:3]}"
        assert sim.wait(300) == 0, sim_log.read_text()
        run = run_id(sim_log.read_text())
        _await_running(env["SCV_CONNECT_URL"])
        end = wait_quiet(bootstrap)
        pipeline.wait_progress(runner, end, pipeline.size(end), timeout=600)
        pipeline.stop(runner)
        transactions, since, until = read_ledger(env["SCV_STORE_DSN"], [run])
        pipeline.verify_cli(Scope(transactions, since, until, (run,)))

        canonical = [f"{pipeline.run}.scv.order.v1", f"{pipeline.run}.scv.inventory.v1"]
        replicated = _replication(
            bootstrap,
            ["scv-connect-configs", "scv-connect-offsets", "scv-connect-status",
             "erp.proddta.f4211", "__transaction_state", *canonical],
        )  # fmt: skip
        assert all(r == (3, "2") for r in replicated.values()), replicated

        # A second broker down: no acknowledgement from one copy.
        second = next(n for n in ("kafka-3", "kafka-2", "kafka") if n != victim)
        refused_before = len(probe.refused)  # 0: asserted above
        cluster.kill(second)
        deadline = time.monotonic() + 60
        while len(probe.refused) == refused_before:
            assert time.monotonic() < deadline, "no write was refused with two brokers down"
            time.sleep(0.5)
        errors = {e.code() for _, e in probe.refused[refused_before:]}
        assert errors <= REFUSED, errors
        _report(f"with {victim} and {second} down, writes refused: "
                f"{sorted(KafkaError(c).name() for c in errors)}")  # fmt: skip
    finally:
        probe.stop()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    scv(env, "stack", "up", timeout=600)  # both come back
    assert probe.acked, "the probe wrote nothing"
    assert probe.acked <= _read_all(bootstrap), "an acknowledged probe record is missing"
    cluster.figures["rss_after_mib"] = sum(
        cluster.rss_mib(n) for n in ("kafka", "kafka-2", "kafka-3")
    )
    _report(
        ", ".join(f"{k}={v:.1f}" for k, v in cluster.figures.items())
        + f", acked={len(probe.acked)}, refused={len(probe.refused)}"
    )
