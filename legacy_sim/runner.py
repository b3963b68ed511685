"""The three verbs behind ``scv sim``: init, run, drift.

``init`` recreates both legacy schemas and the ledger and seeds master data; ``run`` continues
the saved picture at a held rate; ``drift`` adds a column to a captured table in each database.
Callers pass a ``SimSettings``; progress goes to an optional callback (the CLI draws it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text

from legacy_sim import anomalies, ledger, schemas, seed
from legacy_sim.carrier_feed import CarrierFeed, FeedStats
from legacy_sim.engine import Db, TxPlan, execute
from legacy_sim.errors import SimConfigError
from legacy_sim.profiles import PROFILES
from legacy_sim.rows import Moment
from legacy_sim.scenarios import demand, planner
from legacy_sim.scenarios.context import Context
from legacy_sim.settings import SimSettings

LEDGER_FLUSH_S = 1.0


@dataclass(frozen=True, slots=True)
class Engines:
    erp: Engine
    wms: Engine
    store: Engine

    @staticmethod
    def from_settings(settings: SimSettings) -> Engines:
        return Engines(
            erp=create_engine(settings.erp_dsn.get_secret_value(), pool_pre_ping=True),
            wms=create_engine(settings.wms_dsn.get_secret_value(), pool_pre_ping=True),
            store=create_engine(settings.store_dsn.get_secret_value(), pool_pre_ping=True),
        )

    def dispose(self) -> None:
        for engine in (self.erp, self.wms, self.store):
            engine.dispose()


@contextmanager
def engines(settings: SimSettings) -> Iterator[Engines]:
    found = Engines.from_settings(settings)
    try:
        yield found
    finally:
        found.dispose()


@dataclass(frozen=True, slots=True)
class InitResult:
    run_id: int
    rows: dict[str, int]
    seconds: float


def init(
    settings: SimSettings,
    seed_value: int,
    profile_name: str,
    tick: Callable[[int], None],
    on_schemas_created: Callable[[], None] = lambda: None,
) -> InitResult:
    """Drop and recreate ``proddta``, the WMS tables and the ledger; seed master data.

    ``on_schemas_created`` runs after the tables exist and before the first row is seeded:
    dropping ``proddta`` also drops its tables from any publication, so a caller with a
    running ERP connector puts them back there, or the connector would miss the seed rows.
    """
    profile = PROFILES.get(profile_name)
    if profile is None:
        raise SimConfigError(f"unknown profile {profile_name!r} (known: {', '.join(PROFILES)})")
    t0 = time.monotonic()
    world = seed.build_world(seed_value, profile)
    with engines(settings) as eng:
        schemas.recreate_erp(eng.erp)
        schemas.recreate_wms(eng.wms)
        on_schemas_created()
        with eng.store.begin() as store:
            ledger.recreate(store)
            run_id = ledger.start_run(store, "init", seed_value, profile.name)
        with eng.erp.begin() as erp_conn, eng.wms.begin() as wms_conn:
            counts = seed.write_world(world, erp_conn, wms_conn, tick)
        with eng.store.begin() as store:
            ledger.save_world(store, world, run_id)
            ledger.finish_run(store, run_id, "finished", row_changes=sum(counts.values()))
    return InitResult(run_id, counts, time.monotonic() - t0)


@dataclass
class RunStats:
    """Live totals of a run; rates are over the elapsed wall time."""

    planned: int
    done: int = 0
    committed: int = 0
    rolled_back: int = 0
    anomalies: int = 0
    row_changes: int = 0
    elapsed: float = 0.0
    behind: float = 0.0  # seconds behind the schedule the rate asks for
    by_kind: dict[str, int] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)  # committed marks per kind
    run_id: int = 0
    interrupted: bool = False
    #: ``--carrier``: the journeys posted to the carrier receiver (``legacy_sim.carrier_feed``).
    carrier: FeedStats | None = None

    @property
    def tx_per_s(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.row_changes / self.elapsed if self.elapsed else 0.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    rate: float
    duration: float
    seed: int
    anomaly_rate: float = 0.0
    rollback_rate: float = 0.01
    #: Inject the exceptions of the visibility views beside the default traffic, and mark
    #: each cause in ``sim.marks`` (``planner.VISIBILITY``).
    visibility: bool = False
    #: ``--carrier``: the receiver's tracking URL; each dispatch gets a carrier journey.
    carrier_url: str | None = None

    def validate(self) -> None:
        if self.rate <= 0 or self.duration <= 0:
            raise SimConfigError("--rate and --duration must be positive")
        for name, value in (("anomalies", self.anomaly_rate), ("rollback", self.rollback_rate)):
            if not 0 <= value <= 1:
                raise SimConfigError(f"--{name} is a share between 0 and 1, not {value}")


def run(
    settings: SimSettings,
    options: RunOptions,
    progress: Callable[[RunStats], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> RunStats:
    """``rate x duration`` business transactions, paced to the rate, all in the ledger.

    The count is fixed in advance (not the wall time), so a seed gives the same ledger on any
    machine; a machine that cannot keep up takes longer and reports how far it fell behind.
    ``stop`` is asked before each transaction: once it says so, the run ends there as
    ``interrupted``, with every committed transaction in the ledger (a signal that lands
    mid-transaction could not promise that).
    """
    options.validate()
    planned = max(1, round(options.rate * options.duration))
    stats = RunStats(planned=planned)
    with engines(settings) as eng:
        with eng.store.begin() as store:
            world = ledger.load_world(store)
            stats.run_id = ledger.start_run(
                store,
                "run",
                options.seed,
                world.profile,
                rate=Decimal(str(options.rate)),
                duration=Decimal(str(options.duration)),
                anomaly_rate=Decimal(str(options.anomaly_rate)),
                rollback_rate=Decimal(str(options.rollback_rate)),
            )
            if options.visibility:
                ledger.ensure_marks(store)
        rng = random.Random(f"run:{options.seed}")
        ctx = Context.build(world, rng)
        if options.visibility:
            ctx.shocks = demand.schedule(world, options.seed, planned / options.rate)
        status = "failed"
        # Its own generator: the workload's plan for a seed stays the same with or without it.
        feed = (
            CarrierFeed(options.carrier_url, random.Random(f"carrier:{options.seed}"))
            if options.carrier_url
            else None
        )
        stats.carrier = feed.stats if feed else None
        with (
            eng.erp.connect() as erp_conn,
            eng.wms.connect() as wms_conn,
            eng.store.connect() as store_conn,
        ):
            conns: dict[Db, Connection] = {"erp": erp_conn, "wms": wms_conn}
            try:
                _loop(ctx, options, stats, conns, store_conn, progress, stop, feed)
                status = "interrupted" if stats.interrupted else "finished"
            finally:
                if feed is not None:
                    feed.close()
                with store_conn.begin():
                    if status != "failed":
                        ledger.save_world(store_conn, world, stats.run_id)
                    ledger.finish_run(
                        store_conn,
                        stats.run_id,
                        status,
                        business_tx=stats.done,
                        committed_tx=stats.committed,
                        row_changes=stats.row_changes,
                    )
    return stats


def _loop(
    ctx: Context,
    options: RunOptions,
    stats: RunStats,
    conns: dict[Db, Connection],
    store: Connection,
    progress: Callable[[RunStats], None] | None,
    stop: Callable[[], bool],
    feed: CarrierFeed | None = None,
) -> None:
    rng = ctx.rng
    mix = planner.VISIBILITY if options.visibility else planner.DEFAULT
    interval = 1.0 / options.rate
    pending: list[dict[str, Any]] = []
    pending_marks: list[dict[str, Any]] = []
    t0 = time.monotonic()
    last_flush = last_report = t0
    try:
        for seq in range(1, stats.planned + 1):
            if stop():
                stats.interrupted = True
                break
            due = t0 + (seq - 1) * interval
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            else:
                stats.behind = now - due
            rollback = rng.random() < options.rollback_rate
            tx = TxPlan(seq=seq, at=Moment.now(), rollback=rollback, scheduled=(seq - 1) * interval)
            if options.anomaly_rate and rng.random() < options.anomaly_rate:
                anomalies.inject(ctx, tx)
                stats.anomalies += 1
            else:
                planner.plan(ctx, tx, mix)
            outcome = execute(tx, conns)
            stats.done += 1
            stats.by_kind[tx.kind] = stats.by_kind.get(tx.kind, 0) + 1
            if outcome.committed:
                stats.committed += 1
                stats.row_changes += tx.row_changes
                if feed is not None:
                    feed.on_committed(tx.events, tx.keys, tx.at.utc)
            else:
                stats.rolled_back += 1
            pending.append(ledger.record(stats.run_id, tx, outcome))
            for mark in ledger.mark_rows(stats.run_id, tx, outcome):
                pending_marks.append(mark)
                stats.marks[mark["kind"]] = stats.marks.get(mark["kind"], 0) + 1
            now = time.monotonic()
            stats.elapsed = now - t0
            if now - last_flush >= LEDGER_FLUSH_S:
                with store.begin():
                    ledger.write(store, pending, pending_marks)
                pending.clear()
                pending_marks.clear()
                last_flush = now
            if progress and now - last_report >= 0.5:
                progress(stats)
                last_report = now
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        with store.begin():
            ledger.write(store, pending, pending_marks)
        stats.elapsed = time.monotonic() - t0
        if progress:
            progress(stats)


@dataclass(frozen=True, slots=True)
class Drift:
    table: str
    column: str
    ddl: str


#: Realistic DDL changes: a JDE "user reserved" reference on the sales detail, and one more
#: Exceed user-defined field on ORDERS. Both have defaults, so existing rows stay valid.
DRIFTS: dict[str, Drift] = {
    "erp": Drift(
        "proddta.f4211",
        "sdurrf",
        "ALTER TABLE proddta.f4211 ADD COLUMN sdurrf CHAR(15) NOT NULL DEFAULT ' '",
    ),
    "wms": Drift(
        "wmwhse1.ORDERS",
        "UserDefine03",
        "ALTER TABLE ORDERS ADD COLUMN UserDefine03 VARCHAR(30) NOT NULL DEFAULT ' '",
    ),
}


def drift(settings: SimSettings) -> dict[str, str]:
    """Apply each DDL change once; returns per database 'applied' or 'already applied'."""
    result: dict[str, str] = {}
    with engines(settings) as eng:
        for db, change in DRIFTS.items():
            engine = eng.erp if db == "erp" else eng.wms
            schema, table = change.table.split(".")
            with engine.begin() as conn:
                found = conn.execute(
                    text(
                        "SELECT 1 FROM information_schema.columns WHERE table_schema = :s "
                        "AND table_name = :t AND lower(column_name) = lower(:c)"
                    ),
                    {"s": schema, "t": table, "c": change.column},
                ).first()
                if found:
                    result[db] = "already applied"
                    continue
                conn.execute(text(change.ddl))
                result[db] = "applied"
        with eng.store.begin() as store:
            run_id = ledger.start_run(store, "drift", 0, "-")
            ledger.finish_run(store, run_id, "finished")
            store.execute(
                ledger.transactions.insert(),
                [
                    {
                        "run_id": run_id,
                        "seq": n,
                        "kind": "schema_drift",
                        "databases": [db],
                        "committed": result[db] == "applied",
                        "keys": {"table": DRIFTS[db].table, "column": DRIFTS[db].column},
                        "row_changes": {},
                        "events": [],
                        "verdict": "pass",
                    }
                    for n, db in enumerate(DRIFTS, start=1)
                ],
            )
    return result
