"""``scv run``: the pipeline runner killed with ``kill -9`` mid-stream comes back by itself,
and ``scv sim verify`` finds every committed business fact exactly once.

The simulator writes while ``scv run --no-views`` supervises the runner (a namespace of the
test's own: topic prefix, group, transactional ids); the test kills the runner twice, then
stops the traffic, waits until the runner has committed past the raw topics' ends, stops
``scv run`` with SIGTERM (forwarded: the runner commits and exits 0) and runs ``scv sim
verify``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from chain import Pipeline, Scope, seed_world
from rawtopics import Offsets, settled_ends, wait_quiet

from legacy_sim.verify import read_ledger

SEED = 41


@pytest.fixture
def pipeline(endpoints: dict[str, str], tmp_path: Path) -> Pipeline:
    env = {**os.environ, **endpoints}
    start: Offsets = settled_ends(endpoints["SCV_KAFKA_BOOTSTRAP"], endpoints["SCV_CONNECT_URL"])
    seed_world(env, SEED)
    made = Pipeline(env, start, f"run{uuid.uuid4().hex[:8]}", tmp_path)
    made.start_group()
    return made


def _runner_pids(log: Path) -> list[int]:
    """The runner's pids in the order ``scv run`` started them (its stderr lines)."""
    text = log.read_text()
    return [int(pid) for pid in re.findall(r"pipeline: (?:started|restarted) \(.*pid (\d+)", text)]


def _wait_for_runner(log: Path, count: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while len(pids := _runner_pids(log)) < count:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return pids[count - 1]


def test_runner_killed_under_scv_run_comes_back_and_verify_is_clean(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    env = pipeline.env
    log = tmp_path / "scv-run.log"
    runs_dir = tmp_path / "services"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "scv", "run", "--no-views", "--log-dir", str(runs_dir)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    sim_log = tmp_path / "sim.log"
    try:
        first = _wait_for_runner(log, 1)
        with sim_log.open("wb") as out:
            sim = subprocess.Popen(
                [sys.executable, "-m", "scv", "sim", "run", "--rate", "40", "--seed", "43",
                 "--duration", "40"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        started, killed = time.monotonic(), [first]
        for at in (10, 22):  # seconds into the traffic
            time.sleep(max(0.0, started + at - time.monotonic()))
            assert sim.poll() is None, sim_log.read_text()
            os.kill(killed[-1], signal.SIGKILL)
            killed.append(_wait_for_runner(log, len(killed) + 1))
        assert sim.wait(300) == 0, sim_log.read_text()
        found = re.search(r"sim: run (\d+) ", sim_log.read_text())
        assert found, sim_log.read_text()
        run = int(found.group(1))
        end = wait_quiet(env["SCV_KAFKA_BOOTSTRAP"])
        runner_log = runs_dir / "pipeline.log"
        deadline = time.monotonic() + 600
        while pipeline.progress(end) < pipeline.size(end):
            assert supervisor.poll() is None, log.read_text()
            assert time.monotonic() < deadline, runner_log.read_text()
            time.sleep(0.5)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        code = supervisor.wait(120)
    said = log.read_text()
    assert code == 0, said
    assert said.count("pipeline: restarted") == 2, said
    assert "pipeline: stopped (exit code 0)" in said, said
    assert len(set(killed)) == 3, said
    transactions, since, until = read_ledger(env["SCV_STORE_DSN"], [run])
    # `scv sim verify` itself; it exits 0 only with 0 missing, 0 duplicated, 0 unexpected.
    pipeline.verify_cli(Scope(transactions, since, until, (run,)))
