"""The whole chain against the simulator's ledger, and the runner's faults.

The module fixture does what a user does, through the CLI: ``scv sim init`` (which resets the
shared legacy databases), ``scv connectors apply``, an incremental snapshot of the ERP item
tables (a re-created PostgreSQL table is re-added to the publication, so its seed rows only
reach Kafka by a snapshot), ``scv sim run`` (every business process, 5% rolled back),
``scv sim drift`` (a new column in each database) and more ``scv sim run`` after it. That
leaves a backlog on the real raw topics. Each test then runs its own pipeline (own consumer
group starting where the raw topics ended before the test, own transactional ids and output
topic prefix) over that backlog and asks ``scv sim verify`` whether every committed business
fact is in the canonical topics exactly once:

- one runner, cold start (order lines read before their items are held, not quarantined);
- ``kill -9`` of the runner mid-run, then a restart;
- two runners in one group, one killed with ``kill -9`` (its partitions move to the other);
- SIGTERM mid-run: the runner commits or aborts its open transaction and exits 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from rawtopics import Offsets, count_ops, raw_ends, wait_quiet
from sqlalchemy import create_engine, text

from scv.commands.sim_verify import check, ledger
from scv.verify import render
from transforms.settings import TransformsSettings

INIT_SEED = 515
#: Business transactions per `scv sim run` (rate x duration) and the runs before the drift.
RATE, DURATION = 60, 15
PROCESSES = {
    "order_entry", "release", "allocate", "pick", "ship", "sales_update", "purge",
    "cancel_line", "promise_change", "po_issue", "asn", "receipt", "receipt_reversal",
    "cycle_count", "temperature", "item_edit", "housekeeping",
}  # fmt: skip


@dataclass(frozen=True)
class Backlog:
    env: dict[str, str]
    start: Offsets
    end: Offsets
    #: The fixture's own ``scv sim run``s: verification is scoped to them (CI leaves other
    #: modules' traffic on the raw topics; on a shared stack others run the simulator too).
    runs: tuple[int, ...]
    #: The ledger of those runs as the fixture left it: another user may re-initialise the
    #: shared simulator meanwhile, so the fault tests compare against this copy.
    ledger: list[dict[str, Any]]
    #: When the first of the runs started and the last finished: source changes recorded
    #: outside that window are not the fixture's business transactions.
    since: datetime | None
    until: datetime | None

    @property
    def size(self) -> int:
        return sum(self.end[k] - self.start.get(k, 0) for k in self.end)


def _sim_run(env: dict[str, str], *args: str) -> int:
    """``scv sim run`` → its run id in the ledger."""
    out = _scv(env, "sim", "run", *args)
    found = re.search(r"sim: run (\d+) ", out)
    assert found, out
    return int(found.group(1))


def _scv(env: dict[str, str], *args: str, timeout: float = 300) -> str:
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


@pytest.fixture(scope="module")
def backlog(endpoints: dict[str, str]) -> Backlog:
    env = {**os.environ, **endpoints}
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start = raw_ends(bootstrap)
    _scv(env, "sim", "init", "--seed", str(INIT_SEED))
    _scv(env, "connectors", "apply")
    for table in ("f4101", "f41002"):
        _scv(env, "connectors", "snapshot", "erp", "--table", table)
    engine = create_engine(endpoints["SCV_ERP_DSN"])
    with engine.connect() as conn:
        want = {
            t: conn.execute(text(f"SELECT count(*) FROM proddta.{t}")).scalar_one()
            for t in ("f4101", "f41002")
        }
    engine.dispose()
    deadline = time.monotonic() + 180
    for table, rows in want.items():
        while count_ops(bootstrap, f"erp.proddta.{table}", start, "r") < rows:
            assert time.monotonic() < deadline, f"snapshot of {table} did not finish"
            time.sleep(1)
    run = ["--rate", str(RATE), "--duration", str(DURATION), "--rollback", "0.05"]
    runs = [_sim_run(env, *run, "--seed", "1")]
    # Keep the business running until the rare receipt reversal happened (seeded: the same
    # runs every time), so every process is in the backlog.
    store = create_engine(endpoints["SCV_STORE_DSN"])
    for seed in range(2, 8):
        with store.connect() as conn:
            kinds = set(
                conn.execute(
                    text("SELECT DISTINCT kind FROM sim.transactions WHERE run_id = ANY(:runs)"),
                    {"runs": runs},
                ).scalars()
            )
        if "receipt_reversal" in kinds:
            break
        runs.append(_sim_run(env, *run, "--seed", str(seed)))
    _scv(env, "sim", "drift")
    runs.append(_sim_run(env, "--rate", str(RATE), "--duration", "5", "--seed", "99"))
    with store.connect() as conn:
        kinds = set(
            conn.execute(
                text(
                    "SELECT DISTINCT kind FROM sim.transactions "
                    "WHERE committed AND run_id = ANY(:runs)"
                ),
                {"runs": runs},
            ).scalars()
        )
        rolled_back = conn.execute(
            text(
                "SELECT count(*) FROM sim.transactions WHERE NOT committed AND run_id = ANY(:runs)"
            ),
            {"runs": runs},
        ).scalar_one()
    store.dispose()
    assert kinds >= PROCESSES, f"processes never run: {PROCESSES - kinds}"
    assert rolled_back > 0
    end = wait_quiet(bootstrap)
    transactions, since, until = ledger(endpoints["SCV_STORE_DSN"], runs)
    return Backlog(env, start, end, tuple(runs), transactions, since, until)


@dataclass
class Pipeline:
    """One test's pipeline: its own group, transactional ids and output topics."""

    backlog: Backlog
    run: str
    logs: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.backlog.env,
            "SCV_TRANSFORMS_TOPIC_PREFIX": f"{self.run}.",
            "SCV_TRANSFORMS_GROUP_ID": f"{self.run}-group",
            "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{self.run}-tx",
            "SCV_TRANSFORMS_BATCH_SIZE": "100",
            "SCV_TRANSFORMS_IDLE_S": "4",
            # A killed instance's open transaction blocks its partitions' committed offsets
            # (KIP-447) until the broker aborts it: keep that wait short in tests.
            "SCV_TRANSFORMS_TRANSACTION_TIMEOUT_MS": "15000",
        }

    def start_group_at_backlog(self) -> None:
        """The group starts where the raw topics ended before the fixture's `sim init`."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.env["SCV_KAFKA_BOOTSTRAP"],
                "group.id": f"{self.run}-group",
                "enable.auto.commit": False,
            }
        )
        try:
            offsets = [TopicPartition(t, p, o) for (t, p), o in self.backlog.start.items()]
            if offsets:
                consumer.commit(offsets=offsets, asynchronous=False)
        finally:
            consumer.close()

    def runner(self, instance: str, *, until_idle: bool) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "scv", "pipeline", "run", "--instance-id", instance]
        with (self.logs / f"runner-{instance}.log").open("ab") as out:
            return subprocess.Popen(
                [*args, "--until-idle"] if until_idle else args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("runner-*.log")))

    def progress(self) -> int:
        """Raw records of the backlog the group has committed past."""
        consumer = Consumer(
            {"bootstrap.servers": self.env["SCV_KAFKA_BOOTSTRAP"], "group.id": f"{self.run}-group"}
        )
        try:
            parts = [TopicPartition(t, p) for t, p in self.backlog.end]
            done = 0
            # Right after a kill the broker withholds the group's offsets until the zombie's open
            # transaction is aborted (KIP-447; transaction timeout 15 s): wait longer than that.
            for tp in consumer.committed(parts, timeout=60):
                begin = self.backlog.start.get((tp.topic, tp.partition), 0)
                done += max(0, max(tp.offset, begin) - begin)
            return done
        finally:
            consumer.close()

    def wait_progress(self, proc: subprocess.Popen[bytes], at_least: int) -> int:
        # Long enough for a held row to reach ``reference_wait_s`` (120 s) more than once: after
        # a kill the survivor re-reads the victim's rows, and twice (CI) it took over 300 s.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            done = self.progress()
            if done >= at_least:
                return done
            time.sleep(0.05)
        raise AssertionError(f"runner made no progress (rc {proc.poll()}):\n{self.log()}")

    def verify(self) -> None:
        """The fixture's ledger against this pipeline's topics (``scv sim verify``'s check)."""
        settings = TransformsSettings(
            kafka_bootstrap=self.env["SCV_KAFKA_BOOTSTRAP"], topic_prefix=f"{self.run}."
        )
        report = check(self.backlog.ledger, self.backlog.since, settings, until=self.backlog.until)
        lines = "\n".join(render(report))
        assert report.ok, f"{lines}\n--- runners:\n{self.log()}"

    def verify_cli(self) -> str:
        """``scv sim verify`` itself, scoped to the fixture's runs of the ledger."""
        scope = [arg for run in self.backlog.runs for arg in ("--run", str(run))]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "scv",
                "sim",
                "verify",
                "--topic-prefix",
                f"{self.run}.",
                *scope,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- runners:\n{self.log()}"
        return done.stdout


@pytest.fixture
def pipeline(backlog: Backlog, tmp_path: Path) -> Pipeline:
    made = Pipeline(backlog, f"it{uuid.uuid4().hex[:8]}", tmp_path)
    made.start_group_at_backlog()
    return made


def test_sim_run_and_drift_verify_after_one_runner(pipeline: Pipeline) -> None:
    proc = pipeline.runner("0", until_idle=True)
    assert proc.wait(600) == 0, pipeline.log()
    out = pipeline.verify_cli()
    assert "sim verify: PASS" in out
    for event_type in ("order.placed", "goods.received", "receipt.reversed", "order.cancelled"):
        assert re.search(rf"^{re.escape(event_type)}\s+[1-9]", out, re.M), out


def test_kill_9_mid_run_then_restart_loses_and_duplicates_nothing(pipeline: Pipeline) -> None:
    first = pipeline.runner("0", until_idle=True)
    done = pipeline.wait_progress(first, 1)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert done < pipeline.backlog.size, "the kill must land mid-run"
    assert pipeline.runner("0", until_idle=True).wait(600) == 0, pipeline.log()
    pipeline.verify()


def test_two_runners_one_killed_loses_and_duplicates_nothing(pipeline: Pipeline) -> None:
    a = pipeline.runner("a", until_idle=False)
    b = pipeline.runner("b", until_idle=False)
    try:
        pipeline.wait_progress(a, 1)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        assert pipeline.progress() < pipeline.backlog.size, "the kill must land mid-run"
        # b takes a's partitions once the group notices a is gone (session timeout).
        pipeline.wait_progress(b, pipeline.backlog.size)
        b.send_signal(signal.SIGTERM)
        assert b.wait(60) == 0, pipeline.log()
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "stopping: SIGTERM" in pipeline.log()
    pipeline.verify()


def test_sigterm_mid_run_ends_cleanly_and_a_restart_completes(pipeline: Pipeline) -> None:
    first = pipeline.runner("0", until_idle=True)
    pipeline.wait_progress(first, 1)
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0, pipeline.log()
    assert "stopping: SIGTERM" in pipeline.log()
    stopped_at = pipeline.progress()
    assert stopped_at < pipeline.backlog.size, "SIGTERM must land mid-run"
    # The instance restarts with the same transactional id: nothing was left open to fence.
    assert pipeline.runner("0", until_idle=True).wait(600) == 0, pipeline.log()
    pipeline.verify()
