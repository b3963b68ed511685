"""The whole chain as a user drives it, shared by the end-to-end integration tests.

Imported as ``chain`` (``tests/integration`` is on pytest's ``pythonpath``); not a test file.
``scv`` runs a CLI command in a subprocess; ``seed_world`` is ``scv sim init`` + ``connectors
apply`` + the item snapshots; ``Pipeline`` is one test's pipeline (its own group, transactional
ids and output topics) and asks ``scv sim verify``'s check whether every committed business
fact of the ledger is in its topics exactly once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition
from rawtopics import Offsets, count_ops
from sqlalchemy import create_engine, text

from kafkaio import client_config
from legacy_sim.verify import Ledger, check, render
from stack import launcher
from stack.settings import StackSettings
from transforms.readback import canonical_payloads, quarantined_rows
from transforms.settings import TransformsSettings

#: Every business process of the simulator (``sim.transactions.kind``).
PROCESSES = {
    "order_entry", "release", "allocate", "pick", "ship", "sales_update", "purge",
    "cancel_line", "promise_change", "po_issue", "asn", "receipt", "receipt_reversal",
    "cycle_count", "temperature", "item_edit", "housekeeping",
}  # fmt: skip


def scv(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """``scv ARGS`` in a subprocess; its output (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``scv ARGS`` in the background, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scv", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def namespaced_env(endpoints: dict[str, str], tag: str = "it") -> dict[str, str]:
    """The environment of a pipeline with a namespace of its own (topic prefix, group,
    transactional ids: ``<tag><8 hex>``), so a test never reads or fences another's."""
    run = f"{tag}{uuid.uuid4().hex[:8]}"
    return {
        **os.environ,
        **endpoints,
        "SCV_TRANSFORMS_TOPIC_PREFIX": f"{run}.",
        "SCV_TRANSFORMS_GROUP_ID": f"{run}-group",
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{run}-tx",
        "SCV_TRANSFORMS_IDLE_S": "4",
    }


def edi_env(
    endpoints: dict[str, str], run: str, outbox: Path, line_wait_s: int = 20
) -> dict[str, str]:
    """The variables of ``scv edi run`` / ``emit`` on pipeline ``run``'s canonical topics, with
    a schema (``run``, ``-`` as ``_``) and ``outbox`` of its own.

    The line wait is ``line_wait_s``, not 10 minutes: a dispatch whose picks name a line the
    gate quarantined is rejected (``pick_without_line``) that long after it was published, and
    ``--until-idle`` waits for that. The 846 schedule is off (it reads the views' serving
    table, which no view process fills in these tests)."""
    return {
        "SCV_EDI_TOPIC_PREFIX": f"{run}.",
        "SCV_EDI_STORE_DSN": endpoints["SCV_STORE_DSN"],
        "SCV_EDI_DB_SCHEMA": run.replace("-", "_"),
        "SCV_EDI_OUTBOX_DIR": str(outbox),
        "SCV_EDI_BATCH_SIZE": "10",
        "SCV_EDI_IDLE_S": "3",
        "SCV_EDI_LINE_WAIT_S": str(line_wait_s),
        "SCV_EDI_SCHEDULE_846": "false",
    }


def sim_run(env: dict[str, str], *args: str) -> int:
    """``scv sim run`` → its run id in the ledger."""
    return run_id(scv(env, "sim", "run", *args))


def run_id(output: str) -> int:
    found = re.search(r"sim: run (\d+) ", output)
    assert found, output
    return int(found.group(1))


def seed_world(
    env: dict[str, str], seed: int, snapshots: tuple[str, ...] = ("f4101", "f41002")
) -> None:
    """``scv sim init``, ``scv connectors apply`` and an incremental snapshot of the ERP tables
    ``snapshots`` (by default the item tables: a re-created PostgreSQL table is re-added to the
    publication, so its seed rows only reach Kafka by a snapshot), waited for until every seed
    row is on its raw topic."""
    bootstrap = env["SCV_KAFKA_BOOTSTRAP"]
    from rawtopics import settled_ends

    start = settled_ends(bootstrap, env["SCV_CONNECT_URL"])
    scv(env, "sim", "init", "--seed", str(seed))
    scv(env, "connectors", "apply")
    for table in snapshots:
        scv(env, "connectors", "snapshot", "erp", "--table", table)
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


def start_group(bootstrap: str, group: str, offsets: Offsets) -> None:
    """Commit ``offsets`` for ``group``: where its consumers start (partitions not in it: at
    their beginning)."""
    consumer = Consumer(client_config(bootstrap, {"group.id": group, "enable.auto.commit": False}))
    try:
        parts = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        if parts:
            consumer.commit(offsets=parts, asynchronous=False)
    finally:
        consumer.close()


@dataclass(frozen=True)
class Scope:
    """The ledger runs a pipeline is checked against (``scv sim verify``'s check)."""

    #: The ledger's transactions of the runs, as they were when the runs ended: another user
    #: may re-initialise the shared simulator meanwhile.
    ledger: list[dict[str, Any]]
    #: When the first of the runs started and the last finished: source changes recorded
    #: outside that window are not the runs' business transactions.
    since: datetime | None
    until: datetime | None
    runs: tuple[int, ...]


@dataclass
class Pipeline:
    """One test's pipeline: its own group, transactional ids and output topics."""

    base_env: dict[str, str]
    #: Where the group starts (the raw topics' ends before the world was seeded).
    start: Offsets
    run: str
    logs: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.base_env,
            "SCV_TRANSFORMS_TOPIC_PREFIX": f"{self.run}.",
            "SCV_TRANSFORMS_GROUP_ID": f"{self.run}-group",
            "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{self.run}-tx",
            "SCV_TRANSFORMS_BATCH_SIZE": "100",
            "SCV_TRANSFORMS_IDLE_S": "4",
            # A killed instance's open transaction blocks its partitions' committed offsets
            # (KIP-447) until the broker aborts it: keep that wait short in tests.
            "SCV_TRANSFORMS_TRANSACTION_TIMEOUT_MS": "15000",
        }

    def start_group(self) -> None:
        """The group starts at ``start`` (partitions not in it: at their beginning)."""
        start_group(self.env["SCV_KAFKA_BOOTSTRAP"], f"{self.run}-group", self.start)

    def runner(self, instance: str, *, until_idle: bool) -> subprocess.Popen[bytes]:
        args = ["pipeline", "run", "--instance-id", instance]
        if until_idle:
            args.append("--until-idle")
        return spawn(self.env, self.logs / f"runner-{instance}.log", *args)

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("runner-*.log")))

    def progress(self, end: Offsets) -> int:
        """Raw records up to ``end`` the group has committed past."""
        consumer = Consumer(
            client_config(self.env["SCV_KAFKA_BOOTSTRAP"], {"group.id": f"{self.run}-group"})
        )
        try:
            parts = [TopicPartition(t, p) for t, p in end]
            done = 0
            # Right after a kill the broker withholds the group's offsets until the zombie's open
            # transaction is aborted (KIP-447; transaction timeout 15 s): wait longer than that.
            for tp in consumer.committed(parts, timeout=60):
                begin = self.start.get((tp.topic, tp.partition), 0)
                stop = end[(tp.topic, tp.partition)]
                done += max(0, min(max(tp.offset, begin), stop) - begin)
            return done
        finally:
            consumer.close()

    def size(self, end: Offsets) -> int:
        return sum(o - self.start.get(k, 0) for k, o in end.items())

    def wait_progress(
        self, proc: subprocess.Popen[bytes], end: Offsets, at_least: int, timeout: float = 600
    ) -> int:
        # Long enough for a held row to reach ``reference_wait_s`` (120 s) more than once: after
        # a kill the survivor re-reads the victim's rows, and twice (CI) it took over 300 s.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            done = self.progress(end)
            if done >= at_least:
                return done
            time.sleep(0.05)
        raise AssertionError(f"runner made no progress (rc {proc.poll()}):\n{self.log()}")

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM, as a supervisor stops it: it commits what it has and exits 0."""
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, self.log()

    def verify(self, scope: Scope) -> None:
        """The ledger of ``scope`` against this pipeline's topics."""
        settings = TransformsSettings(
            kafka_bootstrap=self.env["SCV_KAFKA_BOOTSTRAP"], topic_prefix=f"{self.run}."
        )
        report = check(
            Ledger(scope.ledger, scope.since, scope.until),
            canonical_payloads(settings),
            quarantined_rows(settings, scope.since, scope.until),
        )
        lines = "\n".join(render(report))
        assert report.ok, f"{lines}\n--- runners:\n{self.log()}"

    def verify_cli(self, scope: Scope) -> str:
        """``scv sim verify`` itself, scoped to the runs of the ledger."""
        runs = [arg for run in scope.runs for arg in ("--run", str(run))]
        done = subprocess.run(
            [sys.executable, "-m", "scv", "sim", "verify", "--topic-prefix", f"{self.run}.", *runs],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- runners:\n{self.log()}"
        return done.stdout


def await_connectors_running(env: dict[str, str], timeout: float = 180) -> float:
    """Seconds until every connector and task is RUNNING (after a fault, by themselves)."""
    import orjson

    started = time.monotonic()
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "scv", "connectors", "status", "--json"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0 and all(c["running"] for c in orjson.loads(done.stdout)):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, done.stdout.decode() + done.stderr.decode()
        time.sleep(1)


def kill_component(
    settings: StackSettings, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 60
) -> None:
    """Signal the stack's running ``name`` component (``kafka``, ``connect``, ...) and wait
    until it has exited (a zombie counts as exited: its parent may not be ours to reap)."""
    for component in launcher.components(settings):
        if component.name == name:
            running = component.pid_file.running()
            assert running is not None, f"{name} is not running"
            os.kill(running.pid, sig)
            deadline = time.monotonic() + timeout
            while running.alive():
                assert time.monotonic() < deadline, f"{name} did not end after {sig.name}"
                time.sleep(0.1)
            return
    raise AssertionError(f"no stack component {name}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """``scv carrier serve`` in a subprocess, started and killed by the test; ``wait_relayed``
    until every accepted update is on Kafka."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scv", "carrier", "serve", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def kill(self) -> None:
        assert self.proc is not None
        assert self.proc.poll() is None, self.log.read_text()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def health(self) -> dict[str, int]:
        answer: dict[str, int] = httpx.get(f"{self.url}/healthz", timeout=5).json()
        return answer

    def wait_relayed(self, deadline_s: float = 120) -> dict[str, int]:
        """The health once the relay has sent every accepted update to Kafka."""
        deadline = time.monotonic() + deadline_s
        while True:
            health = self.health()
            # The relay's position is an outbox seq (a killed insert may burn one: no count).
            if health["outbox"] > 0 and health["relayed"] == health["last_seq"]:
                return health
            assert time.monotonic() < deadline, health
            time.sleep(0.5)
