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
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from chain import PROCESSES, Pipeline, Scope, scv, seed_world, sim_run
from rawtopics import Offsets, settled_ends, wait_quiet
from sqlalchemy import create_engine, text

from legacy_sim.verify import read_ledger

INIT_SEED = 515
#: Business transactions per `scv sim run` (rate x duration) and the runs before the drift.
RATE, DURATION = 60, 15


@dataclass(frozen=True)
class Backlog:
    env: dict[str, str]
    start: Offsets
    end: Offsets
    #: The fixture's own ``scv sim run``s: verification is scoped to them (CI leaves other
    #: modules' traffic on the raw topics; on a shared stack others run the simulator too).
    scope: Scope

    @property
    def size(self) -> int:
        return sum(self.end[k] - self.start.get(k, 0) for k in self.end)


@pytest.fixture(scope="module")
def backlog(endpoints: dict[str, str]) -> Backlog:
    env = {**os.environ, **endpoints}
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start = settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"])
    seed_world(env, INIT_SEED)
    run = ["--rate", str(RATE), "--duration", str(DURATION), "--rollback", "0.05"]
    runs = [sim_run(env, *run, "--seed", "1")]
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
        runs.append(sim_run(env, *run, "--seed", str(seed)))
    scv(env, "sim", "drift")
    runs.append(sim_run(env, "--rate", str(RATE), "--duration", "5", "--seed", "99"))
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
    transactions, since, until = read_ledger(endpoints["SCV_STORE_DSN"], runs)
    return Backlog(env, start, end, Scope(transactions, since, until, tuple(runs)))


@pytest.fixture
def pipeline(backlog: Backlog, tmp_path: Path) -> Pipeline:
    made = Pipeline(backlog.env, backlog.start, f"it{uuid.uuid4().hex[:8]}", tmp_path)
    made.start_group()
    return made


def test_sim_run_and_drift_verify_after_one_runner(pipeline: Pipeline, backlog: Backlog) -> None:
    proc = pipeline.runner("0", until_idle=True)
    assert proc.wait(600) == 0, pipeline.log()
    out = pipeline.verify_cli(backlog.scope)
    assert "sim verify: PASS" in out
    for event_type in ("order.placed", "goods.received", "receipt.reversed", "order.cancelled"):
        assert re.search(rf"^{re.escape(event_type)}\s+[1-9]", out, re.M), out


def test_kill_9_mid_run_then_restart_loses_and_duplicates_nothing(
    pipeline: Pipeline, backlog: Backlog
) -> None:
    first = pipeline.runner("0", until_idle=True)
    done = pipeline.wait_progress(first, backlog.end, 1)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert done < backlog.size, "the kill must land mid-run"
    assert pipeline.runner("0", until_idle=True).wait(600) == 0, pipeline.log()
    pipeline.verify(backlog.scope)


def test_two_runners_one_killed_loses_and_duplicates_nothing(
    pipeline: Pipeline, backlog: Backlog
) -> None:
    a = pipeline.runner("a", until_idle=False)
    b = pipeline.runner("b", until_idle=False)
    try:
        pipeline.wait_progress(a, backlog.end, 1)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        assert pipeline.progress(backlog.end) < backlog.size, "the kill must land mid-run"
        # b takes a's partitions once the group notices a is gone (session timeout).
        pipeline.wait_progress(b, backlog.end, backlog.size)
        pipeline.stop(b)
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "stopping: SIGTERM" in pipeline.log()
    pipeline.verify(backlog.scope)


def test_sigterm_mid_run_ends_cleanly_and_a_restart_completes(
    pipeline: Pipeline, backlog: Backlog
) -> None:
    first = pipeline.runner("0", until_idle=True)
    pipeline.wait_progress(first, backlog.end, 1)
    pipeline.stop(first)
    assert "stopping: SIGTERM" in pipeline.log()
    stopped_at = pipeline.progress(backlog.end)
    assert stopped_at < backlog.size, "SIGTERM must land mid-run"
    # The instance restarts with the same transactional id: nothing was left open to fence.
    assert pipeline.runner("0", until_idle=True).wait(600) == 0, pipeline.log()
    pipeline.verify(backlog.scope)
