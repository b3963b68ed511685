"""The ground-truth ledger and the saved world picture, in the store database ``scv``.

Schema ``sim`` of the never-captured database ``scv``:

- ``sim.runs``: one row per ``init``/``run``/``drift`` (seed, options, status, totals).
- ``sim.transactions``: one row per business transaction, committed or rolled back: kind,
  databases, commit times (``time.time_ns()`` taken right after COMMIT returned, per
  database), keys touched, row changes per source table (``erp.proddta.f4211`` → ``{"c": 3}``,
  the raw topic names), the canonical events it must produce (§6.3: type, aggregate key,
  essential quantities in base units as strings), and for anomalies the defect and the verdict
  the quality gate must reach.
- ``sim.marks``: the causes ``scv sim run --visibility`` injected, one row each (kind, the
  entity it concerns, when the alert it must cause became due, details): what the views must
  alert and from when, so a test can also check that no alert fires without a cause. Only
  committed transactions leave marks.
- ``sim.world``: the simulator's picture after the last init/run, so the next run continues it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from legacy_sim.engine import Outcome, TxPlan
from legacy_sim.errors import NotInitialised, StaleState
from legacy_sim.state import World

LEDGER_SCHEMA = "sim"
metadata = MetaData(schema=LEDGER_SCHEMA)

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),  # init | run | drift
    Column("seed", BigInteger, nullable=False),
    Column("profile", Text, nullable=False),
    Column("rate", Numeric),
    Column("duration", Numeric),
    Column("anomaly_rate", Numeric),
    Column("rollback_rate", Numeric),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False),  # running | finished | interrupted | failed
    Column("business_tx", Integer),
    Column("committed_tx", Integer),
    Column("row_changes", BigInteger),
)

transactions = Table(
    "transactions",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("databases", ARRAY(Text), nullable=False),
    Column("committed", Boolean, nullable=False),
    Column("erp_commit_ns", BigInteger),
    Column("wms_commit_ns", BigInteger),
    Column("committed_at", DateTime(timezone=True)),
    Column("keys", JSONB, nullable=False),
    Column("row_changes", JSONB, nullable=False),
    Column("events", JSONB, nullable=False),
    Column("anomaly", Text),
    Column("verdict", Text, nullable=False),  # pass | quarantine
    PrimaryKeyConstraint("run_id", "seq"),
)

marks = Table(
    "marks",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("n", Integer, nullable=False),  # the mark's ordinal within its transaction
    Column("kind", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("detail", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "seq", "n"),
)

world_table = Table(
    "world",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("in_use", Boolean, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("picture", Text, nullable=False),
)


def recreate(conn: Connection) -> None:
    conn.execute(text(f"DROP SCHEMA IF EXISTS {LEDGER_SCHEMA} CASCADE"))
    conn.execute(text(f"CREATE SCHEMA {LEDGER_SCHEMA}"))
    metadata.create_all(conn)


def start_run(conn: Connection, kind: str, seed: int, profile: str, **options: Any) -> int:
    run_id: int = conn.execute(
        insert(runs)
        .values(
            kind=kind,
            seed=seed,
            profile=profile,
            started_at=datetime.now(UTC),
            status="running",
            **options,
        )
        .returning(runs.c.run_id)
    ).scalar_one()
    return run_id


def finish_run(conn: Connection, run_id: int, status: str, **totals: Any) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.run_id == run_id)
        .values(finished_at=datetime.now(UTC), status=status, **totals)
    )


def record(run_id: int, plan: TxPlan, outcome: Outcome) -> dict[str, Any]:
    """The ledger row of one business transaction."""
    last = max(outcome.commit_ns.values()) if outcome.commit_ns else None
    return {
        "run_id": run_id,
        "seq": plan.seq,
        "kind": plan.kind,
        "databases": list(plan.order),
        "committed": outcome.committed,
        "erp_commit_ns": outcome.commit_ns.get("erp"),
        "wms_commit_ns": outcome.commit_ns.get("wms"),
        "committed_at": datetime.fromtimestamp(last / 1e9, UTC) if last else None,
        "keys": plan.keys,
        "row_changes": plan.changes,
        "events": plan.events,
        "anomaly": plan.anomaly,
        "verdict": plan.verdict,
    }


def mark_rows(run_id: int, plan: TxPlan, outcome: Outcome) -> list[dict[str, Any]]:
    """The ``sim.marks`` rows of one business transaction (none unless it committed): due at
    the mark's own time or at the commit, whichever is later."""
    if not outcome.committed or not plan.marks:
        return []
    committed_at = datetime.fromtimestamp(max(outcome.commit_ns.values()) / 1e9, UTC)
    return [
        {
            "run_id": run_id,
            "seq": plan.seq,
            "n": n,
            "kind": mark["kind"],
            "entity": mark["entity"],
            "due_at": max(committed_at, mark["due"]) if mark["due"] else committed_at,
            "detail": mark["detail"],
        }
        for n, mark in enumerate(plan.marks, start=1)
    ]


def write(
    conn: Connection, records: list[dict[str, Any]], mark_records: Sequence[dict[str, Any]] = ()
) -> None:
    if records:
        conn.execute(insert(transactions), records)
    if mark_records:
        conn.execute(insert(marks), mark_records)


def ensure_marks(conn: Connection) -> None:
    """Create ``sim.marks`` in a ledger initialised before it existed."""
    marks.create(conn, checkfirst=True)


@dataclass(frozen=True, slots=True)
class Mark:
    """One injected cause: the alert ``kind`` must be raised about ``entity`` from ``due_at``."""

    run_id: int
    seq: int
    kind: str
    entity: str
    due_at: datetime
    detail: dict[str, Any]


def read_marks(conn: Connection, runs: Sequence[int] = ()) -> list[Mark]:
    """The marks of ``runs`` (default: every run), in the order they were made."""
    query = select(marks).order_by(marks.c.run_id, marks.c.seq, marks.c.n)
    if runs:
        query = query.where(marks.c.run_id.in_(list(runs)))
    return [
        Mark(r.run_id, r.seq, r.kind, r.entity, r.due_at, dict(r.detail))
        for r in conn.execute(query)
    ]


def save_world(conn: Connection, world: World, run_id: int) -> None:
    picture = world.model_dump_json()
    conn.execute(text(f"DELETE FROM {LEDGER_SCHEMA}.world"))
    conn.execute(
        insert(world_table).values(
            id=1, run_id=run_id, in_use=False, saved_at=datetime.now(UTC), picture=picture
        )
    )


def load_world(conn: Connection) -> World:
    """The saved picture; marks it in use so a crashed run cannot be continued silently."""
    exists = conn.execute(
        text(
            "SELECT 1 FROM information_schema.tables"
            " WHERE table_schema = :s AND table_name = 'world'"
        ),
        {"s": LEDGER_SCHEMA},
    ).first()
    if exists is None:
        raise NotInitialised()
    row = conn.execute(select(world_table.c.in_use, world_table.c.picture)).first()
    if row is None:
        raise NotInitialised()
    if row.in_use:
        raise StaleState(
            "the last `scv sim run` did not finish, so the simulator's picture no longer "
            "matches the databases: run `scv sim init` again"
        )
    conn.execute(update(world_table).values(in_use=True))
    return World.model_validate_json(row.picture)


def release_world(conn: Connection) -> None:
    conn.execute(update(world_table).values(in_use=False))


@dataclass(frozen=True, slots=True)
class CommitFact:
    """One committed business transaction, as the EDI parity report needs it: its kind, commit
    time, keys and the site x item balances it changed (``inventory.level_changed`` keys)."""

    kind: str
    committed_at: datetime
    keys: dict[str, Any]
    balances: tuple[str, ...]


def commits_since(conn: Connection, since: datetime) -> list[CommitFact]:
    """Committed business transactions since ``since``, in commit order."""
    exists = conn.execute(
        text(
            "SELECT 1 FROM information_schema.tables"
            " WHERE table_schema = :s AND table_name = 'transactions'"
        ),
        {"s": LEDGER_SCHEMA},
    ).first()
    if exists is None:
        raise NotInitialised()
    rows = conn.execute(
        text(
            f"""
            SELECT kind, committed_at, keys,
                   jsonb_path_query_array(
                       events, '$[*] ? (@.type == "inventory.level_changed").key'
                   ) AS balances
            FROM {LEDGER_SCHEMA}.transactions
            WHERE committed AND committed_at > :since
            ORDER BY committed_at
            """
        ),
        {"since": since},
    )
    return [
        CommitFact(
            kind=r.kind,
            committed_at=r.committed_at,
            keys=dict(r.keys or {}),
            balances=tuple(str(k) for k in (r.balances or [])),
        )
        for r in rows
    ]
