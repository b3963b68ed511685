"""Business transactions as plans: the statements per database, the undo journal, the events.

A scenario (``legacy_sim.scenarios``) *plans* a business transaction: it changes the
simulator's picture of the world through a ``Journal`` (so a rollback can undo it) and queues
statements per database in ``DbWork``. ``execute`` then runs one database transaction per
database, in the planned order, and either commits each (taking the commit time right after
COMMIT returns) or rolls all back and undoes the journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, Executable, Table, and_, bindparam, delete, insert, update
from sqlalchemy.exc import DBAPIError

from legacy_sim.errors import SimDatabaseError
from legacy_sim.rows import Moment, Row
from legacy_sim.schemas.erp import ERP_SCHEMA
from legacy_sim.schemas.wms import WMS_DATABASE

Db = Literal["erp", "wms"]
OpKind = Literal["c", "u", "d"]
_PREFIX: dict[Db, str] = {"erp": f"erp.{ERP_SCHEMA}", "wms": f"wms.{WMS_DATABASE}"}


class Journal:
    """Undo log for the in-memory picture; undone in reverse order on rollback."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def set(self, obj: Any, attr: str, value: Any) -> None:
        old = getattr(obj, attr)
        self._undo.append(lambda: setattr(obj, attr, old))
        setattr(obj, attr, value)

    def add(self, obj: Any, attr: str, delta: int) -> None:
        self.set(obj, attr, getattr(obj, attr) + delta)

    def put(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        had, old = key in mapping, mapping.get(key)

        def undo() -> None:
            if had:
                mapping[key] = old
            else:
                del mapping[key]

        self._undo.append(undo)
        mapping[key] = value

    def pop(self, mapping: dict[Any, Any], key: Any) -> Any:
        old = mapping.pop(key)
        self._undo.append(lambda: mapping.__setitem__(key, old))
        return old

    def append(self, seq: list[Any], value: Any) -> None:
        seq.append(value)
        self._undo.append(seq.pop)

    def remove(self, seq: list[Any], value: Any) -> None:
        index = seq.index(value)
        seq.pop(index)
        self._undo.append(lambda: seq.insert(index, value))

    def undo(self) -> None:
        for step in reversed(self._undo):
            step()
        self._undo.clear()


@dataclass(slots=True)
class _Op:
    shape: tuple[Any, ...]
    statement: Executable
    params: list[Row]
    table: str
    kind: OpKind


_STATEMENTS: dict[tuple[Any, ...], Executable] = {}


def _statement(shape: tuple[Any, ...], table: Table) -> Executable:
    found = _STATEMENTS.get(shape)
    if found is not None:
        return found
    kind, _, keys, values = shape
    stmt: Executable
    if kind == "c":
        _STATEMENTS[shape] = stmt = insert(table)
        return stmt
    where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
    if kind == "u":
        stmt = update(table).where(where).values({v: bindparam(f"v_{v}") for v in values})
    else:
        stmt = delete(table).where(where)
    _STATEMENTS[shape] = stmt
    return stmt


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


class DbWork:
    """The statements of one database transaction, merged into executemany runs."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.ops: list[_Op] = []
        self.changes: dict[str, dict[str, int]] = {}

    def __bool__(self) -> bool:
        return bool(self.ops)

    def _add(self, table: Table, shape: tuple[Any, ...], params: list[Row], kind: OpKind) -> None:
        name = f"{_PREFIX[self.db]}.{table.name}"
        per_table = self.changes.setdefault(name, {})
        per_table[kind] = per_table.get(kind, 0) + len(params)
        if self.ops and self.ops[-1].shape == shape:
            self.ops[-1].params.extend(params)
            return
        self.ops.append(_Op(shape, _statement(shape, table), params, name, kind))

    def insert(self, model: Any, *rows: Row) -> None:
        table = _table(model)
        for row in rows:
            shape = ("c", table.name, (), tuple(row))
            self._add(table, shape, [row], "c")

    def update(self, model: Any, key: Row, values: Row) -> None:
        table = _table(model)
        shape = ("u", table.name, tuple(key), tuple(values))
        params = {f"k_{k}": v for k, v in key.items()} | {f"v_{k}": v for k, v in values.items()}
        self._add(table, shape, [params], "u")

    def delete(self, model: Any, key: Row) -> None:
        table = _table(model)
        shape = ("d", table.name, tuple(key), ())
        self._add(table, shape, [{f"k_{k}": v for k, v in key.items()}], "d")

    def raw(self, model: Any, statement: Executable, params: Row, kind: OpKind, rows: int) -> None:
        """A set-based statement (INSERT ... SELECT) that touches ``rows`` rows."""
        table = _table(model)
        name = f"{_PREFIX[self.db]}.{table.name}"
        per_table = self.changes.setdefault(name, {})
        per_table[kind] = per_table.get(kind, 0) + rows
        self.ops.append(_Op(("raw", id(statement)), statement, [params], name, kind))

    @property
    def row_changes(self) -> int:
        return sum(n for per in self.changes.values() for n in per.values())


def _json(value: Any) -> Any:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


@dataclass
class TxPlan:
    """One business transaction: what it changes, where, and what the pipeline must emit."""

    seq: int
    at: Moment
    rollback: bool
    #: Seconds since the run's start on its schedule (seq / rate): what the planner may base
    #: time-dependent choices on, so that a seed gives the same plan however the clock runs.
    scheduled: float = 0.0
    kind: str = ""
    journal: Journal = field(default_factory=Journal)
    erp: DbWork = field(default_factory=lambda: DbWork("erp"))
    wms: DbWork = field(default_factory=lambda: DbWork("wms"))
    order: list[Db] = field(default_factory=list)  # commit order; first touched first
    keys: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    anomaly: str | None = None
    verdict: str = "pass"
    touched: dict[tuple[int, str], None] = field(default_factory=dict)  # balances, ordered
    #: Injected causes of exceptions (``--visibility``): what the views must alert, and from
    #: when (``ledger.marks``).
    marks: list[dict[str, Any]] = field(default_factory=list)

    def db(self, which: Db) -> DbWork:
        if which not in self.order:
            self.order.append(which)
        return self.erp if which == "erp" else self.wms

    def event(self, type_: str, key: str, **fields: Any) -> None:
        self.events.append({"type": type_, "key": key} | {k: _json(v) for k, v in fields.items()})

    def mark(self, kind: str, entity: str, due: datetime | None = None, **detail: Any) -> None:
        """Record an injected cause: ``kind`` of exception about ``entity``, due at ``due`` or
        at this transaction's commit, whichever is later (``None``: at the commit)."""
        self.marks.append({"kind": kind, "entity": entity, "due": due, "detail": _json(detail)})

    @property
    def row_changes(self) -> int:
        return self.erp.row_changes + self.wms.row_changes

    @property
    def changes(self) -> dict[str, dict[str, int]]:
        return self.erp.changes | self.wms.changes


@dataclass(frozen=True, slots=True)
class Outcome:
    committed: bool
    commit_ns: dict[str, int]


def execute(plan: TxPlan, conns: dict[Db, Connection]) -> Outcome:
    """Run the plan: one transaction per database; commit all, or roll all back and undo."""
    started: list[Db] = []
    try:
        for db in plan.order:
            conn = conns[db]
            conn.begin()
            started.append(db)
            for op in plan.erp.ops if db == "erp" else plan.wms.ops:
                conn.execute(op.statement, op.params if len(op.params) > 1 else op.params[0])
    except DBAPIError as exc:
        for db in started:
            conns[db].rollback()
        plan.journal.undo()
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise SimDatabaseError(
            f"{plan.kind} (tx {plan.seq}) failed in the {started[-1].upper()}: {first}"
        ) from exc
    if plan.rollback:
        for db in started:
            conns[db].rollback()
        plan.journal.undo()
        return Outcome(False, {})
    commit_ns: dict[str, int] = {}
    for db in started:
        conns[db].commit()
        commit_ns[db] = time.time_ns()
    return Outcome(True, commit_ns)
