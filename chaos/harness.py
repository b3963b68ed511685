"""The chain a scenario runs against, as a user drives it: the stack's components, the CLI,
the simulator's traffic, one pipeline (runner and views processes) of its own.

Every step goes through the real command line in a child process (``scv stack up``, ``scv sim
run``, ``scv pipeline run``, ``scv views run``, ``scv connectors ...``), so a scenario exercises
exactly what an operator would run. Children's output goes to log files in the run directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import create_engine, text

from chaos.errors import ScenarioFailed, StackNotReady
from chaos.rawtopics import Offsets, count_ops, settled_ends
from chaos.settings import ChaosSettings
from kafkaio import client_config
from stack import launcher
from stack.settings import StackSettings

Say = Callable[[str], None]

#: Tables whose seed rows reach Kafka only by an incremental snapshot (a re-created PostgreSQL
#: table is re-added to the publication): the items, their conversions and the opening stock,
#: which the views need for positions that reconcile.
SNAPSHOT_TABLES = ("f4101", "f41002", "f41021")
_RUN_ID = re.compile(r"sim: run (\d+) ")
_REPLAYED = re.compile(r"^\s+skip\s+replayed\s+(\d+)$", re.M)


def tail(output: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in output.strip().splitlines()[-lines:])


def endpoints_env(settings: ChaosSettings) -> dict[str, str]:
    """This process's environment plus the stack's endpoints, for every child."""
    return {
        **os.environ,
        "SCV_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SCV_CONNECT_URL": settings.connect_url,
        "SCV_ERP_DSN": settings.erp_dsn.get_secret_value(),
        "SCV_ERP_READ_DSN": settings.erp_read_dsn.get_secret_value(),
        "SCV_WMS_DSN": settings.wms_dsn.get_secret_value(),
        "SCV_STORE_DSN": settings.store_dsn.get_secret_value(),
        "SCV_STATE_DIR": str(settings.state_dir),
    }


def scv(args: Sequence[str], env: Mapping[str, str], timeout: float = 600) -> str:
    """``scv ARGS`` to its end; its output, or ``ScenarioFailed`` naming the command."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scv", *args],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ScenarioFailed(f"`scv {' '.join(args)}` did not finish in {timeout:.0f}s") from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise ScenarioFailed(f"`scv {' '.join(args)}` exited {done.returncode}: {tail(output)}")
    return output


@dataclass
class Child:
    """A long-running ``scv`` child whose output is appended to ``log``."""

    name: str
    args: list[str]
    env: Mapping[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scv", *self.args],
            env=dict(self.env),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ScenarioFailed(
                f"{self.name} exited {self.process.returncode}: {tail(self.output())}"
            )

    def signal(self, sig: signal.Signals) -> None:
        if self.alive() and self.process is not None:
            self.process.send_signal(sig)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a supervisor stops it; SIGKILL past ``timeout``. Its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._out is not None:
            self._out.close()
        return self.process.returncode

    def wait(self, timeout: float) -> int:
        if self.process is None:
            raise ScenarioFailed(f"{self.name} was never started")
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ScenarioFailed(f"{self.name} did not end in {timeout:.0f}s") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Traffic:
    """``scv sim run`` writing at the scenario's rate until ``stop`` (SIGTERM: it ends after
    the transaction in progress, every committed one in the ledger), so a fault lands
    mid-stream however long the steps before it took.

    A scenario that takes a legacy database away ``pause``s it first (the legacy application,
    and the simulator's ledger beside the views in PostgreSQL, would fail with it) and
    ``resume``s it after: a new run of the simulator, each run's id kept for the verdict."""

    def __init__(self, settings: ChaosSettings, env: Mapping[str, str], logs: Path) -> None:
        self.settings = settings
        self.env = env
        self.logs = logs
        self.runs: list[int] = []
        self.child: Child | None = None
        self.started = time.monotonic()
        self.resume()

    def resume(self) -> None:
        """A new simulator run (with the next seed: a run with the seed of the one before
        would repeat its business keys)."""
        seed = self.settings.traffic_seed + len(self.runs)
        args = ["sim", "run", "--rate", str(self.settings.rate), "--seed", str(seed),
                "--duration", "3600"]  # fmt: skip
        n = len(self.runs) + 1
        self.child = Child(f"scv sim run ({n})", args, self.env, self.logs / f"sim-{n}.log")
        self.child.start()

    def at(self, second: float) -> None:
        """Sleep until ``second`` of the scenario (the simulator must still be writing)."""
        time.sleep(max(0.0, self.started + second - time.monotonic()))
        if self.child is not None:
            self.child.check_alive()

    def stop(self, after_s: float = 0.0) -> None:
        """Let the simulator write ``after_s`` more seconds, then end its run."""
        time.sleep(after_s)
        if self.child is not None:
            self.child.check_alive()
            self.child.signal(signal.SIGTERM)

    def pause(self) -> None:
        """End the current run and wait for it (its id kept)."""
        self.finish()

    def finish(self) -> list[int]:
        """End the current run, if any, and wait for it; every run's id in the ledger."""
        child, self.child = self.child, None
        if child is None:
            return self.runs
        child.signal(signal.SIGTERM)
        code = child.wait(120)
        output = child.output()
        if code != 0:
            raise ScenarioFailed(f"`scv sim run` exited {code}: {tail(output)}")
        found = _RUN_ID.findall(output)
        if not found:
            raise ScenarioFailed(f"`scv sim run` printed no run id: {tail(output)}")
        self.runs.append(int(found[-1]))
        return self.runs


class Stack:
    """What a scenario may do to the stack: kill a component, and bring it back as ``scv
    stack up`` does (idempotent: it starts what is not running and waits until healthy)."""

    def __init__(self, stack: StackSettings, env: Mapping[str, str]) -> None:
        self.settings = stack
        self.env = env

    def check(self) -> None:
        down = [s.name for s in launcher.status(self.settings) if s.state != "running"]
        if down:
            raise StackNotReady(f"the stack is not running ({', '.join(down)}): `scv stack up`")

    def up(self) -> None:
        scv(["stack", "up"], self.env, timeout=240)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 60) -> float:
        """Signal the running component ``name`` and wait until it is gone (a zombie counts as
        gone: its parent may not be ours to reap); the instant of the signal."""
        for component in launcher.components(self.settings):
            if component.name != name:
                continue
            running = component.pid_file.running()
            if running is None:
                raise StackNotReady(f"{name} is not running")
            at = time.time()
            os.kill(running.pid, sig)
            deadline = time.monotonic() + timeout
            while running.alive():
                if time.monotonic() > deadline:
                    raise ScenarioFailed(f"{name} did not end after {sig.name}")
                time.sleep(0.1)
            return at
        raise ScenarioFailed(f"no stack component {name}")

    def terminate_walsenders(self) -> int:
        """``pg_terminate_backend`` of every active replication slot's walsender (the ERP
        connector's); how many were terminated. As the cluster's superuser, over the stack's
        own socket (trust authentication inside a directory only the stack can enter)."""
        import psycopg

        from stack.components.postgres import PostgreSQL

        for component in launcher.components(self.settings):
            if isinstance(component, PostgreSQL):
                with psycopg.connect(
                    host=str(component.socket_dir),
                    port=self.settings.postgres_port,
                    user="postgres",
                    dbname="postgres",
                    autocommit=True,
                    connect_timeout=5,
                ) as conn:
                    rows = conn.execute(
                        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                        "WHERE active_pid IS NOT NULL"
                    ).fetchall()
                return sum(1 for (done,) in rows if done)
        raise ScenarioFailed("no stack component postgres")


def seed_world(settings: ChaosSettings, env: Mapping[str, str], say: Say) -> Offsets:
    """``scv sim init`` (a new legacy world), ``scv connectors apply`` and the snapshots of
    ``SNAPSHOT_TABLES``, waited for until every seed row is on its raw topic. Returns where the
    raw topics ended before: a pipeline of this world starts there."""
    bootstrap = settings.kafka_bootstrap
    say("waiting for the connectors to settle")
    start = settled_ends(bootstrap, settings.connect_url)
    say(f"seeding a new legacy world (seed {settings.world_seed})")
    scv(["sim", "init", "--seed", str(settings.world_seed)], env)
    scv(["connectors", "apply"], env)
    for table in SNAPSHOT_TABLES:
        scv(["connectors", "snapshot", "erp", "--table", table], env)
    engine = create_engine(settings.erp_dsn.get_secret_value())
    try:
        with engine.connect() as conn:
            want = {
                t: conn.execute(text(f"SELECT count(*) FROM proddta.{t}")).scalar_one()
                for t in SNAPSHOT_TABLES
            }
    finally:
        engine.dispose()
    deadline = time.monotonic() + 300
    for table, rows in want.items():
        say(f"snapshot of {table}: waiting for {rows:,} rows")
        while count_ops(bootstrap, f"erp.proddta.{table}", start, "r") < rows:
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"the snapshot of {table} did not finish in 300s")
            time.sleep(1)
    return start


@dataclass
class Pipeline:
    """One scenario run's pipeline: its own topic prefix, group, transactional ids and serving
    schema (``name``), a runner and a views process."""

    name: str
    base_env: Mapping[str, str]
    start: Offsets
    logs: Path
    runners: list[Child] = field(default_factory=list)
    views: Child | None = None
    #: The raw topics' ends the run drained to (set by the drain).
    end: Offsets = field(default_factory=dict)
    #: Children a supervised scenario restarted, and why (``Supervisor``).
    restarts: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"{self.name}."

    @property
    def group(self) -> str:
        return f"{self.name}-group"

    @property
    def schema(self) -> str:
        return self.name.replace("-", "_")

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.base_env,
            "SCV_TRANSFORMS_TOPIC_PREFIX": self.prefix,
            "SCV_TRANSFORMS_GROUP_ID": self.group,
            "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{self.name}-tx",
            "SCV_TRANSFORMS_BATCH_SIZE": "100",
            "SCV_TRANSFORMS_IDLE_S": "4",
            # A killed instance's open transaction blocks its partitions' committed offsets
            # (KIP-447) until the broker aborts it: keep that wait short.
            "SCV_TRANSFORMS_TRANSACTION_TIMEOUT_MS": "15000",
            "SCV_VIEWS_TOPIC_PREFIX": self.prefix,
            "SCV_VIEWS_IDLE_S": "3",
        }

    def start_group(self, bootstrap: str) -> None:
        """The group starts at ``start`` (partitions not in it: at their beginning)."""
        consumer = Consumer(
            client_config(bootstrap, {"group.id": self.group, "enable.auto.commit": False})
        )
        try:
            parts = [TopicPartition(t, p, o) for (t, p), o in self.start.items()]
            if parts:
                consumer.commit(offsets=parts, asynchronous=False)
        finally:
            consumer.close()

    def start_runner(self) -> Child:
        instance = str(len(self.runners))
        child = Child(
            f"runner {instance}",
            ["pipeline", "run", "--instance-id", instance],
            self.env,
            self.logs / f"runner-{instance}.log",
        )
        child.start()
        self.runners.append(child)
        return child

    def start_views(self) -> Child:
        self.views = Child(
            "views", ["views", "run", "--schema", self.schema], self.env, self.logs / "views.log"
        )
        self.views.start()
        return self.views

    def children(self) -> list[Child]:
        return [*self.runners, *([self.views] if self.views else [])]

    def check_alive(self) -> None:
        for child in self.children():
            child.check_alive()

    def restart_exited(self) -> None:
        """Start again every child that exited, as a supervisor would (same arguments, same
        log); each restart is recorded with the exit code that caused it."""
        for child in self.children():
            if child.process is not None and child.process.poll() is not None:
                self.restarts.append(f"{child.name} exited {child.process.returncode}")
                child.stop()
                child.start()

    def progress(self, bootstrap: str, end: Offsets) -> int:
        """Raw records up to ``end`` the group has committed past."""
        consumer = Consumer(client_config(bootstrap, {"group.id": self.group}))
        try:
            done = 0
            # Right after a kill the broker withholds the group's offsets until the zombie's
            # open transaction is aborted (KIP-447): wait longer than the 15 s timeout.
            for tp in consumer.committed([TopicPartition(t, p) for t, p in end], timeout=60):
                begin = self.start.get((tp.topic, tp.partition), 0)
                stop = end[(tp.topic, tp.partition)]
                done += max(0, min(max(tp.offset, begin), stop) - begin)
            return done
        finally:
            consumer.close()

    def size(self, end: Offsets) -> int:
        return sum(o - self.start.get(k, 0) for k, o in end.items())

    def runner_log(self) -> str:
        return "\n".join(child.output() for child in self.runners)

    def replays_skipped(self) -> int:
        """Changes the runners skipped as Debezium's replays (their run summaries)."""
        return sum(int(n) for n in _REPLAYED.findall(self.runner_log()))


class Supervisor:
    """Restarts a pipeline's runner or views process that exited, every second, in a daemon
    thread: what ``scv run``'s supervisor (issue 17) does. Only scenarios that take a database
    away use it; their outcome lists each restart, so a crash is never hidden."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-supervisor", daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.pipeline.restart_exited()
