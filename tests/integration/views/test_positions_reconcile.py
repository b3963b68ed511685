"""Positions from the real chain agree with the legacy sources, through a kill -9 and as-of.

The module fixture does what a user does, through the CLI: ``scv sim init`` (it resets the
shared legacy databases), ``scv connectors apply``, an incremental snapshot of the ERP item,
conversion and balance tables (a re-created PostgreSQL table is re-added to the publication,
so its seed rows only reach Kafka by a snapshot: the balances' opening stock included), and
``scv sim run`` until every business process ran. Then, with its own pipeline (consumer group
starting where the raw topics ended before the fixture, own output topic prefix) and its own
serving schema:

1. pipeline to idle; view process killed with ``kill -9`` mid-run, restarted to idle;
   ``scv reconcile`` reports zero mismatches; the live positions and the time are noted (T1);
2. more business, pipeline and view process to idle again: zero mismatches (T2);
3. ``scv inventory show --as-of T1`` and ``--as-of T2`` equal what the live view showed then.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest
from chain import PROCESSES, namespaced_env, seed_world, spawn, start_group
from rawtopics import settled_ends, wait_quiet
from sqlalchemy import create_engine, text

RATE, DURATION = 60, 10
Positions = dict[tuple[str, str], dict[str, str]]


def _scv(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass
class Chain:
    env: dict[str, str]
    run: str
    logs: Path

    @property
    def schema(self) -> str:
        return self.run.replace("-", "_")

    def pipeline(self) -> None:
        _scv(self.env, "pipeline", "run", "--until-idle")

    def view(self, *, until_idle: bool) -> subprocess.Popen[bytes]:
        args = ["views", "run", "--schema", self.schema]
        if until_idle:
            args.append("--until-idle")
        return spawn(self.env, self.logs / "views.log", *args)

    def log(self) -> str:
        return (self.logs / "views.log").read_text()

    def store(self) -> psycopg.Connection[tuple[object, ...]]:
        dsn = self.env["SCV_STORE_DSN"].replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True)

    def applied(self) -> int:
        with self.store() as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = 'applied_events'",
                (self.schema,),
            ).fetchone()
            if not found or not found[0]:
                return 0
            row = conn.execute(f"SELECT count(*) FROM {self.schema}.applied_events").fetchone()
            return int(row[0]) if row else 0

    def positions(self, *extra: str) -> Positions:
        out = _scv(self.env, "inventory", "show", "--json", "--schema", self.schema, *extra)
        rows = [orjson.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        return {(r.pop("site_id"), r.pop("item_id")): r for r in rows}

    def reconcile(self) -> subprocess.CompletedProcess[str]:
        return _scv(self.env, "reconcile", "--schema", self.schema, check=False)


def _business(env: dict[str, str], seeds: range) -> None:
    store = create_engine(env["SCV_STORE_DSN"])
    try:
        for seed in seeds:
            _scv(env, "sim", "run", "--rate", str(RATE), "--duration", str(DURATION),
                 "--seed", str(seed))  # fmt: skip
            with store.connect() as conn:
                kinds = set(
                    conn.execute(
                        text("SELECT DISTINCT kind FROM sim.transactions WHERE committed")
                    ).scalars()
                )
            if kinds >= PROCESSES:
                return
        raise AssertionError(f"processes never run: {PROCESSES - kinds}")
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    env = namespaced_env(endpoints, tag="itv")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    env |= {
        "SCV_VIEWS_TOPIC_PREFIX": f"{run}.",
        "SCV_VIEWS_BATCH_SIZE": "50",
        "SCV_VIEWS_IDLE_S": "3",
    }
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start_group(bootstrap, f"{run}-group", settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"]))
    # the balances' opening stock only reaches Kafka by a snapshot too
    seed_world(env, 808, snapshots=("f4101", "f41002", "f41021"))
    _business(env, range(1, 16))
    wait_quiet(bootstrap)
    chain = Chain(env=env, run=run, logs=tmp_path_factory.mktemp(run))
    yield chain
    with chain.store() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {chain.schema} CASCADE")


@dataclass
class Seen:
    at: datetime
    positions: Positions


@pytest.fixture(scope="module")
def first(chain: Chain) -> Seen:
    """Phase 1: pipeline to idle, the view killed mid-run and restarted, reconciled."""
    chain.pipeline()
    view = chain.view(until_idle=True)
    deadline = time.monotonic() + 120
    while chain.applied() == 0:
        assert view.poll() is None, f"view ended before it could be killed:\n{chain.log()}"
        assert time.monotonic() < deadline, chain.log()
        time.sleep(0.02)
    view.send_signal(signal.SIGKILL)
    view.wait(10)
    killed_at = chain.applied()
    restarted = chain.view(until_idle=True)
    assert restarted.wait(300) == 0, chain.log()
    total = chain.applied()
    assert 0 < killed_at < total, f"kill must land mid-run ({killed_at} of {total})"
    seen = Seen(datetime.now(UTC), chain.positions())
    time.sleep(1.5)  # records of phase 2 get later timestamps than T1
    return seen


def test_zero_mismatches_after_a_kill_9_of_the_view_and_a_restart(
    chain: Chain, first: Seen
) -> None:
    done = chain.reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 mismatches" in done.stdout
    assert len(first.positions) > 50
    assert any(float(p["allocated"]) > 0 for p in first.positions.values())


@pytest.fixture(scope="module")
def second(chain: Chain, first: Seen) -> Seen:
    """Phase 2: more business, then the chain to idle again."""
    _scv(chain.env, "sim", "run", "--rate", str(RATE), "--duration", "5", "--seed", "77")
    wait_quiet(chain.env["SCV_KAFKA_BOOTSTRAP"])
    chain.pipeline()
    view = chain.view(until_idle=True)
    assert view.wait(300) == 0, chain.log()
    return Seen(datetime.now(UTC), chain.positions())


def test_zero_mismatches_after_more_business(chain: Chain, second: Seen) -> None:
    done = chain.reconcile()
    assert done.returncode == 0, done.stdout + done.stderr


def test_as_of_gives_the_positions_the_live_view_had_at_two_times(
    chain: Chain, first: Seen, second: Seen
) -> None:
    assert first.positions != second.positions, "phase 2 must move some position"
    assert chain.positions("--as-of", first.at.isoformat()) == first.positions
    assert chain.positions("--as-of", second.at.isoformat()) == second.positions
