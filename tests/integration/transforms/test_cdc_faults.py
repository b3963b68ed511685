"""Exactly once through faults of the CDC chain itself: the Connect worker and the broker.

The simulator writes business traffic while a pipeline runs; mid-stream the test kills what
a data engineer fears: the Kafka Connect worker (``kill -9``, three times, once while it lags
a backlog; a graceful restart; ``scv connectors restart``) and the broker (``kill -9`` for 10 s
and for 60 s). ``scv stack up`` brings the killed component back, as an operator or a
supervisor would; nothing else is done by hand: connectors and runner recover by themselves.
Then ``scv sim verify``'s check: every committed business fact of the ledger is in the
canonical topics exactly once.

Debezium is at least once: after a Connect crash it writes the changes since its last
flushed offset again. The raw duplicates are counted, and the runner must have skipped
exactly that many as ``replayed``.
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
from pathlib import Path

import pytest
from chain import (
    Pipeline,
    Scope,
    await_connectors_running,
    kill_component,
    run_id,
    scv,
    seed_world,
)
from rawtopics import Offsets, raw_duplicates, settled_ends, wait_quiet

from legacy_sim.verify import read_ledger
from stack.settings import StackSettings

SEED = 23


@dataclass(frozen=True)
class World:
    env: dict[str, str]
    #: The raw topics' ends before the world was seeded: pipelines start there.
    start: Offsets


@pytest.fixture(scope="module")
def world(endpoints: dict[str, str]) -> World:
    env = {**os.environ, **endpoints}
    start = settled_ends(endpoints["SCV_KAFKA_BOOTSTRAP"], endpoints["SCV_CONNECT_URL"])
    seed_world(env, SEED)
    return World(env, start)


@pytest.fixture
def pipeline(world: World, tmp_path: Path) -> Pipeline:
    made = Pipeline(world.env, world.start, f"it{uuid.uuid4().hex[:8]}", tmp_path)
    made.start_group()
    return made


class Traffic:
    """``scv sim run`` in the background, and what happens at which second of it.

    The simulator writes until ``stop`` (SIGTERM: it ends after the transaction in progress, every
    committed one in the ledger), so each fault lands mid-stream however long the steps before
    it took; ``seconds`` only bounds a run that is never stopped. Left early (a failed step), it
    stops the simulator the same way: a run killed mid-transaction would leave the simulator's
    picture unlike the databases, and the next run would refuse to start."""

    def __init__(self, env: dict[str, str], seconds: int, seed: int, log: Path) -> None:
        self.log = log
        args = ["sim", "run", "--rate", "50", "--seed", str(seed), "--duration", str(seconds)]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scv", *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.started = time.monotonic()

    def __enter__(self) -> Traffic:
        return self

    def __exit__(self, *_: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def at(self, second: float) -> None:
        """Sleep until ``second`` of the run (the simulator must still be writing)."""
        time.sleep(max(0.0, self.started + second - time.monotonic()))
        assert self.proc.poll() is None, f"the simulator ended early:\n{self.log.read_text()}"

    def stop(self, after_s: float = 0.0) -> None:
        """Let the simulator write ``after_s`` more seconds, then end its run (SIGTERM)."""
        time.sleep(after_s)
        assert self.proc.poll() is None, f"the simulator ended early:\n{self.log.read_text()}"
        self.proc.send_signal(signal.SIGTERM)

    def finish(self) -> int:
        assert self.proc.wait(600) == 0, self.log.read_text()
        return run_id(self.log.read_text())


def _stack_up(env: dict[str, str]) -> None:
    scv(env, "stack", "up", timeout=180)


def _replayed(log: str) -> int:
    found = re.findall(r"^\s+skip\s+replayed\s+(\d+)$", log, re.M)
    return sum(int(n) for n in found)


def _drain_and_verify(pipeline: Pipeline, runner: subprocess.Popen[bytes], runs: list[int]) -> int:
    """Wait until the raw topics are quiet and the runner committed past them, stop it and
    verify the runs; the raw duplicates it had to skip."""
    env = pipeline.env
    await_connectors_running(env)
    end = wait_quiet(env["SCV_KAFKA_BOOTSTRAP"])
    pipeline.wait_progress(runner, end, pipeline.size(end), timeout=900)
    pipeline.stop(runner)
    transactions, since, until = read_ledger(env["SCV_STORE_DSN"], runs)
    pipeline.verify(Scope(transactions, since, until, tuple(runs)))
    return raw_duplicates(env["SCV_KAFKA_BOOTSTRAP"], pipeline.start, end)


def test_connect_crashes_and_restarts_publish_no_replay(
    pipeline: Pipeline, stack_settings: StackSettings, tmp_path: Path
) -> None:
    env = pipeline.env
    runner = pipeline.runner("0", until_idle=False)
    try:
        with Traffic(env, 900, 31, tmp_path / "sim.log") as traffic:
            try:
                traffic.at(8)
                kill_component(stack_settings, "connect")
                _stack_up(env)
                traffic.at(22)
                kill_component(stack_settings, "connect")
                _stack_up(env)
                # Down while the simulator writes on: the connectors come back to a backlog,
                # and are killed again while they drain it.
                traffic.at(36)
                kill_component(stack_settings, "connect")
                time.sleep(8)
                _stack_up(env)
                time.sleep(1)
                kill_component(stack_settings, "connect")
                _stack_up(env)
                traffic.at(70)
                kill_component(stack_settings, "connect", signal.SIGTERM)  # graceful
                _stack_up(env)
                traffic.at(90)
                scv(env, "connectors", "restart")
                traffic.stop(after_s=10)
            finally:
                _stack_up(env)  # whatever failed, the next test finds the stack up
            runs = [traffic.finish()]
        duplicates = _drain_and_verify(pipeline, runner, runs)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    log = pipeline.log()
    assert duplicates > 0, "the crashes left no replay on the raw topics: nothing was tested"
    assert _replayed(log) == duplicates, log


def test_broker_killed_for_10_s_and_60_s_loses_and_duplicates_nothing(
    pipeline: Pipeline, stack_settings: StackSettings, tmp_path: Path
) -> None:
    env = pipeline.env
    runner = pipeline.runner("0", until_idle=False)
    try:
        with Traffic(env, 900, 37, tmp_path / "sim.log") as traffic:
            try:
                for at, outage in ((15, 10), (60, 60)):
                    traffic.at(at)
                    kill_component(stack_settings, "kafka")
                    time.sleep(outage)
                    _stack_up(env)
                traffic.stop(after_s=15)
            finally:
                _stack_up(env)
            runs = [traffic.finish()]
        _drain_and_verify(pipeline, runner, runs)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    log = pipeline.log()
    assert "Traceback" not in log, log
    # librdkafka retries a refused connection every second: one line per state change.
    assert log.count("Connection refused") < 60, log
