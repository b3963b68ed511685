"""The order-tracking tables in the serving schema, and the queries ``scv order`` answers.

Written by the view process in its batch transaction (``views.store.Batch.extra``), so an
order's timeline, its state, the partition clocks and the alerts they raise commit together
with the consumed offsets: exactly once, through ``kill -9``.

    order_tracking  (order_id, event_id, step) → one timeline step: when it happened, the
                    source system and its commit time, line, item, quantity, detail
    open_orders     order_id → the latest state of every open order (not delivered, not
                    cancelled): status, where it is, ordered and shipped quantities, promised
                    and projected delivery, days late; for the dashboard and a customer API
    order_state     order_id → the tracker's state (JSON), every order, open or closed
    order_clocks    (topic, partition, system) → the latest source commit time read there
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from views.errors import UnknownOrder
from views.orders import (
    OrderTracker,
    Projection,
    Step,
    TrackedOrder,
    TrackingChanges,
    TrackingPolicy,
    order_from_json,
    order_to_json,
    project,
    steps_in_order,
)

if TYPE_CHECKING:
    from transforms.events import CanonicalEvent
    from views.alerts import Alert
    from views.settings import ViewsSettings

_DDL = """
CREATE TABLE IF NOT EXISTS {s}.order_tracking (
    order_id text NOT NULL, event_id uuid NOT NULL, step text NOT NULL,
    occurred_at timestamptz NOT NULL, system text NOT NULL, committed_at timestamptz NOT NULL,
    line_id text, item_id text, quantity numeric, detail text NOT NULL,
    PRIMARY KEY (order_id, event_id, step)
);
CREATE TABLE IF NOT EXISTS {s}.open_orders (
    order_id text PRIMARY KEY, site_id text, status text NOT NULL, where_is text NOT NULL,
    order_partition integer, ordered numeric NOT NULL, shipped numeric NOT NULL,
    short_shipped boolean NOT NULL, promised_ship_date date, promised_delivery_date date,
    projected_delivery_date date, projection_basis text NOT NULL, days_late integer NOT NULL,
    late boolean NOT NULL, last_step text, last_step_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS open_orders_late ON {s}.open_orders (late) WHERE late;
CREATE TABLE IF NOT EXISTS {s}.order_state (order_id text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.order_clocks (
    topic text NOT NULL, partition integer NOT NULL, system text NOT NULL,
    at timestamptz NOT NULL, PRIMARY KEY (topic, partition, system)
)
"""

Cursor = psycopg.Cursor[Any]


def _q(schema: str, text: str) -> sql.Composed:
    return sql.SQL(text).format(s=sql.Identifier(schema))


def ensure(conn: psycopg.Connection[Any], schema: str) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('scv-views-ddl'))")
        for statement in _DDL.split(";"):
            if statement.strip():
                cur.execute(_q(schema, statement))


def load(conn: psycopg.Connection[Any], schema: str, tracker: OrderTracker) -> None:
    """Fill ``tracker`` with the orders and clocks of the last committed batch."""
    with conn.cursor() as cur:
        cur.execute(_q(schema, "SELECT topic, partition, system, at FROM {s}.order_clocks"))
        for topic, partition, system, at in cur:
            tracker.load_clock((topic, partition, system), at)
        cur.execute(_q(schema, "SELECT order_id, value FROM {s}.order_state"))
        for order_id, value in cur:
            tracker.load_order(order_from_json(order_id, value))
    conn.commit()


def _open_row(order: TrackedOrder, p: Projection) -> tuple[Any, ...]:
    return (
        order.order_id,
        order.site_id,
        order.status,
        order.where(),
        order.partition,
        order.ordered,
        order.shipped,
        order.short_episode is not None,
        p.promised_ship,
        p.promised_delivery,
        p.projected_delivery,
        p.basis,
        p.days_late,
        p.late,
        order.last_step,
        order.last_step_at,
    )


def writer(
    schema: str, policy: TrackingPolicy, changes: TrackingChanges
) -> Callable[[Cursor], None]:
    """The batch's writes of ``changes`` (run inside the view process's transaction)."""

    def write(cur: Cursor) -> None:
        cur.executemany(
            _q(
                schema,
                "INSERT INTO {s}.order_tracking (order_id, event_id, step, occurred_at, system, "
                "committed_at, line_id, item_id, quantity, detail) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (order_id, event_id, step) DO NOTHING",
            ),
            [
                (
                    s.order_id,
                    s.event_id,
                    s.step,
                    s.occurred_at,
                    s.system,
                    s.committed_at,
                    s.line_id,
                    s.item_id,
                    s.quantity,
                    s.detail,
                )
                for s in changes.steps
            ],
        )
        cur.executemany(
            _q(
                schema,
                "INSERT INTO {s}.order_state (order_id, value) VALUES (%s, %s) "
                "ON CONFLICT (order_id) DO UPDATE SET value = EXCLUDED.value",
            ),
            [(k, Jsonb(order_to_json(o))) for k, o in changes.orders.items()],
        )
        closed = [(k,) for k, o in changes.orders.items() if o.closed]
        cur.executemany(_q(schema, "DELETE FROM {s}.open_orders WHERE order_id = %s"), closed)
        cur.executemany(
            _q(
                schema,
                "INSERT INTO {s}.open_orders (order_id, site_id, status, where_is, "
                "order_partition, ordered, shipped, short_shipped, promised_ship_date, "
                "promised_delivery_date, projected_delivery_date, projection_basis, days_late, "
                "late, last_step, last_step_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (order_id) DO UPDATE SET site_id = EXCLUDED.site_id, "
                "status = EXCLUDED.status, where_is = EXCLUDED.where_is, "
                "order_partition = EXCLUDED.order_partition, ordered = EXCLUDED.ordered, "
                "shipped = EXCLUDED.shipped, short_shipped = EXCLUDED.short_shipped, "
                "promised_ship_date = EXCLUDED.promised_ship_date, "
                "promised_delivery_date = EXCLUDED.promised_delivery_date, "
                "projected_delivery_date = EXCLUDED.projected_delivery_date, "
                "projection_basis = EXCLUDED.projection_basis, days_late = EXCLUDED.days_late, "
                "late = EXCLUDED.late, last_step = EXCLUDED.last_step, "
                "last_step_at = EXCLUDED.last_step_at, updated_at = now()",
            ),
            [
                _open_row(o, project(o, changes.today.get(k), policy))
                for k, o in changes.orders.items()
                if not o.closed
            ],
        )
        cur.executemany(
            _q(
                schema,
                "INSERT INTO {s}.order_clocks (topic, partition, system, at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (topic, partition, system) "
                "DO UPDATE SET at = EXCLUDED.at",
            ),
            [(t, p, system, at) for (t, p, system), at in changes.clocks.items()],
        )

    return write


# --- queries (``scv order``) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One order as ``open_orders`` states it (or, once closed, as its state does)."""

    order_id: str
    site_id: str | None
    status: str
    where: str
    ordered: Decimal
    shipped: Decimal
    short_shipped: bool
    promised_ship_date: date | None
    promised_delivery_date: date | None
    projected_delivery_date: date | None
    projection_basis: str
    days_late: int
    late: bool
    last_step: str | None
    last_step_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = (
                value.isoformat()
                if isinstance(value, date | datetime)
                else str(value)
                if isinstance(value, Decimal)
                else value
            )
        return out


@dataclass(frozen=True, slots=True)
class OrderTimeline:
    summary: OrderSummary
    steps: list[Step]


_SUMMARY = (
    "SELECT order_id, site_id, status, where_is, ordered, shipped, short_shipped, "
    "promised_ship_date, promised_delivery_date, projected_delivery_date, projection_basis, "
    "days_late, late, last_step, last_step_at FROM {s}.open_orders"
)


def _summary_of_state(order: TrackedOrder) -> OrderSummary:
    # A closed order's projection is its delivery (or none): no clock, no transit setting.
    p = project(order, None, TrackingPolicy())
    return OrderSummary(
        order.order_id,
        order.site_id,
        order.status,
        order.where(),
        order.ordered,
        order.shipped,
        order.short_episode is not None,
        p.promised_ship,
        p.promised_delivery,
        p.projected_delivery,
        p.basis,
        p.days_late,
        p.late,
        order.last_step,
        order.last_step_at,
    )


def timeline(conn: psycopg.Connection[Any], schema: str, order_id: str) -> OrderTimeline | None:
    """One order's timeline and state; None if the views never saw it."""
    with conn.cursor() as cur:
        cur.execute(_q(schema, _SUMMARY + " WHERE order_id = %s"), (order_id,))
        row = cur.fetchone()
        summary = OrderSummary(*row) if row else None
        if summary is None:
            cur.execute(
                _q(schema, "SELECT value FROM {s}.order_state WHERE order_id = %s"), (order_id,)
            )
            state = cur.fetchone()
            if state is None:
                conn.commit()
                return None
            summary = _summary_of_state(order_from_json(order_id, state[0]))
        cur.execute(
            _q(
                schema,
                "SELECT order_id, event_id, step, occurred_at, system, committed_at, detail, "
                "line_id, item_id, quantity FROM {s}.order_tracking WHERE order_id = %s",
            ),
            (order_id,),
        )
        steps = [Step(*r) for r in cur]
    conn.commit()
    return OrderTimeline(summary, steps_in_order(steps))


def open_orders(
    conn: psycopg.Connection[Any], schema: str, *, late_only: bool
) -> list[OrderSummary]:
    """The open orders (or only those projected late), latest first by days late."""
    where = " WHERE late" if late_only else ""
    with conn.cursor() as cur:
        cur.execute(_q(schema, _SUMMARY + where + " ORDER BY days_late DESC, order_id"))
        found = [OrderSummary(*r) for r in cur]
    conn.commit()
    return found


def find_orders(conn: psycopg.Connection[Any], schema: str, text: str, limit: int) -> list[str]:
    """Ids of the orders the views saw (open or closed) containing ``text``, case-insensitive,
    sorted (the console's order search)."""
    with conn.cursor() as cur:
        cur.execute(
            _q(
                schema,
                "SELECT order_id FROM {s}.order_state WHERE strpos(lower(order_id), lower(%s)) > 0 "
                "ORDER BY order_id LIMIT %s",
            ),
            (text.strip(), limit),
        )
        found = [str(r[0]) for r in cur]
    conn.commit()
    return found


def track_order(settings: ViewsSettings, order_id: str) -> OrderTimeline:
    """``scv order track``: the order's timeline; ``UnknownOrder`` if the views never saw it."""
    from views.store import opened

    with opened(settings.libpq_dsn, settings.db_schema) as store:
        ensure(store.conn, settings.db_schema)
        found = timeline(store.conn, settings.db_schema, order_id)
    if found is None:
        raise UnknownOrder(f"order {order_id!r}: no event of it read (schema {settings.db_schema})")
    return found


def list_orders(settings: ViewsSettings, *, late_only: bool) -> list[OrderSummary]:
    """``scv order list``: the open orders, or only those projected to miss their promise."""
    from views.store import opened

    with opened(settings.libpq_dsn, settings.db_schema) as store:
        ensure(store.conn, settings.db_schema)
        return open_orders(store.conn, settings.db_schema, late_only=late_only)


class OrderFeed:
    """The view process's hook: the tracker fed by every applied event, loaded from and
    written to the serving schema in the process's transactions."""

    def __init__(self, settings: ViewsSettings) -> None:
        from transforms.events import TOPIC_ORDER, TOPIC_SHIPMENT

        self.schema = settings.db_schema
        self.policy = settings.tracking_policy()
        self._topics = {
            "order_topic": settings.topic(TOPIC_ORDER),
            "shipment_topic": settings.topic(TOPIC_SHIPMENT),
        }
        self.tracker = OrderTracker(self.policy, **self._topics)

    def start(self, conn: psycopg.Connection[Any]) -> None:
        """Create the tables if needed and load the last committed state."""
        ensure(conn, self.schema)
        self.reload(conn)

    def reload(self, conn: psycopg.Connection[Any]) -> None:
        self.tracker = OrderTracker(self.policy, **self._topics)
        load(conn, self.schema, self.tracker)

    def rollback(self) -> None:
        """Back to the last committed batch (an event of the batch raised)."""
        self.tracker.rollback()

    def expect(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The partitions the process reads (see ``OrderTracker.expect``)."""
        self.tracker.expect(partitions)

    def apply(self, event: CanonicalEvent, topic: str, partition: int) -> list[Alert]:
        return self.tracker.apply(event, topic, partition)

    def writes(self) -> Callable[[Cursor], None]:
        """The writes of what the batch changed (``views.store.Batch.extra``)."""
        return writer(self.schema, self.policy, self.tracker.take_changes())
