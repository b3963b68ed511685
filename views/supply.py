"""The supply views in the view process: supplier scorecards and demand sensing.

``Supply`` is the one hook ``views.process`` calls per applied event (``apply``) and the
store calls per batch (``load``, ``writes``): it owns the event-time clocks
(``views.clocks``), the PO lines (``views.suppliers``) and the demand series
(``views.demand``), and writes their state and serving rows in the batch's transaction,
with the positions, the alert outbox and the offsets (``views.store``). Alerts go through
the ``Monitor``'s episodes, so they share its once-per-episode state and its outbox.

Tables (in the views schema):

    supply_state         (kind, key) → JSON: ``po_line``, ``series``, ``clock:receipts``,
                         ``clock:orders``, ``meta``
    supplier_scorecards  (supplier_id, window_days) → the scorecard as of the receipts'
                         watermark (``views.suppliers``)
    demand_rates         series → the last closed bucket against its baseline and the open
                         shift, if any (``views.demand``)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from transforms.events import (
    TOPIC_INBOUND,
    TOPIC_ORDER,
    CanonicalEvent,
    GoodsReceived,
    OrderPlaced,
    ReceiptReversed,
)
from views.alerts import Alert, Monitor
from views.clocks import PartitionClocks
from views.demand import DemandBook, DemandPolicy
from views.suppliers import Scorecard, SupplierBook, SupplierPolicy

DDL = """
CREATE TABLE IF NOT EXISTS {s}.supply_state (
    kind text NOT NULL, key text NOT NULL, value jsonb NOT NULL, PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS {s}.supplier_scorecards (
    supplier_id text NOT NULL,
    window_days integer NOT NULL,
    as_of timestamptz NOT NULL,
    lines integer NOT NULL,
    timed integer NOT NULL,
    on_time integer NOT NULL,
    in_full integer NOT NULL,
    otif integer NOT NULL,
    ordered numeric NOT NULL,
    filled numeric NOT NULL,
    on_time_rate numeric,
    in_full_rate numeric,
    otif_rate numeric,
    fill_rate numeric,
    avg_lead_days numeric,
    p90_lead_days integer,
    avg_quoted_days numeric,
    late_open_lines integer NOT NULL,
    PRIMARY KEY (supplier_id, window_days)
);
CREATE TABLE IF NOT EXISTS {s}.demand_rates (
    series text PRIMARY KEY,
    site_id text,
    item_id text,
    bucket_start timestamptz,
    quantity double precision,
    baseline double precision,
    sd double precision,
    z double precision,
    shift text,
    since timestamptz,
    last_order timestamptz,
    total double precision,
    lines bigint
);
"""

SCORECARD_COLUMNS = (
    "supplier_id", "window_days", "as_of", "lines", "timed", "on_time", "in_full", "otif",
    "ordered", "filled", "on_time_rate", "in_full_rate", "otif_rate", "fill_rate",
    "avg_lead_days", "p90_lead_days", "avg_quoted_days", "late_open_lines",
)  # fmt: skip
DEMAND_COLUMNS = (
    "series", "site_id", "item_id", "bucket_start", "quantity", "baseline", "sd", "z",
    "shift", "since", "last_order", "total", "lines",
)  # fmt: skip


def _where(topic: str, partition: int) -> str:
    return f"{topic}|{partition}"


def _canonical(topic: str, name: str) -> bool:
    """``topic`` is the canonical ``name`` (tests put a prefix in front)."""
    return topic == name or topic.endswith(f".{name}")


@dataclass(frozen=True, slots=True)
class SupplyWrites:
    """What one batch changed in the supply views (written by ``write``)."""

    state: Mapping[tuple[str, str], dict[str, Any] | None]
    scorecards: tuple[Scorecard, ...]
    demand: Mapping[str, dict[str, Any] | None]

    def write(self, cur: psycopg.Cursor[Any], schema: str) -> None:
        s = sql.Identifier(schema)

        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(s=s)

        cur.executemany(
            q("DELETE FROM {s}.supply_state WHERE kind = %s AND key = %s"),
            [k for k, v in self.state.items() if v is None],
        )
        cur.executemany(
            q(
                "INSERT INTO {s}.supply_state (kind, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (kind, key) DO UPDATE SET value = EXCLUDED.value"
            ),
            [(k[0], k[1], Jsonb(v)) for k, v in self.state.items() if v is not None],
        )
        cards = sql.SQL(", ").join(sql.Identifier(c) for c in SCORECARD_COLUMNS)
        cur.executemany(
            sql.SQL(
                "INSERT INTO {s}.supplier_scorecards ({c}) VALUES ({v}) "
                "ON CONFLICT (supplier_id, window_days) DO UPDATE SET {u}"
            ).format(
                s=s,
                c=cards,
                v=sql.SQL(", ").join(sql.Placeholder() for _ in SCORECARD_COLUMNS),
                u=sql.SQL(", ").join(
                    sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                    for c in SCORECARD_COLUMNS[2:]
                ),
            ),
            [tuple(_card_row(card)) for card in self.scorecards],
        )
        cur.executemany(
            q("DELETE FROM {s}.demand_rates WHERE series = %s"),
            [(k,) for k, v in self.demand.items() if v is None],
        )
        cur.executemany(
            sql.SQL(
                "INSERT INTO {s}.demand_rates ({c}) VALUES ({v}) "
                "ON CONFLICT (series) DO UPDATE SET {u}"
            ).format(
                s=s,
                c=sql.SQL(", ").join(sql.Identifier(c) for c in DEMAND_COLUMNS),
                v=sql.SQL(", ").join(sql.Placeholder() for _ in DEMAND_COLUMNS),
                u=sql.SQL(", ").join(
                    sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                    for c in DEMAND_COLUMNS[1:]
                ),
            ),
            [_demand_row(k, v) for k, v in self.demand.items() if v is not None],
        )


def _card_row(card: Scorecard) -> Iterator[Any]:
    for column in SCORECARD_COLUMNS:
        yield getattr(card, column)


def _demand_row(key: str, series: Mapping[str, Any]) -> tuple[Any, ...]:
    last = series.get("last") or {}
    site, item = (None, None) if key.startswith("region:") else tuple(key.split("|", 1))
    episode = int(series.get("episode", 0))
    return (
        key,
        site,
        item,
        last.get("bucket"),
        last.get("quantity"),
        last.get("mean"),
        last.get("sd"),
        last.get("z"),
        {1: "up", -1: "down"}.get(episode),
        series.get("run_start") if episode else None,
        series.get("last_order"),
        series.get("total"),
        series.get("lines"),
    )


class Supply:
    """Clocks, PO lines and demand series of one view process."""

    def __init__(self, suppliers: SupplierPolicy, demand: DemandPolicy) -> None:
        self.receipt_clocks = PartitionClocks()
        self.order_clocks = PartitionClocks()
        self.suppliers = SupplierBook(suppliers)
        self.demand = DemandBook(demand)

    # -- the hook -------------------------------------------------------------------------------

    def apply(
        self, event: CanonicalEvent, topic: str, partition: int, monitor: Monitor
    ) -> list[Alert]:
        """One applied event read on ``topic[partition]`` (after positions and alerts)."""
        where = (topic, partition)
        if _canonical(topic, TOPIC_INBOUND):
            before = self.receipt_clocks.of(where)
            clock = before
            if isinstance(event, GoodsReceived | ReceiptReversed):
                clock = self.receipt_clocks.advance(where, event.occurred_at)
            return self.suppliers.apply(
                event,
                _where(topic, partition),
                (before, clock),
                self.receipt_clocks.low_watermark(topic),
                monitor,
            )
        if _canonical(topic, TOPIC_ORDER):
            # Only order.placed moves the demand clock: it comes from one ERP table, in
            # commit order on its partition; the WMS steps on the same topic do not.
            if isinstance(event, OrderPlaced):
                self.order_clocks.advance(where, event.occurred_at)
            return self.demand.apply(event, self.order_clocks.low_watermark(topic), monitor)
        return []

    # -- persistence ----------------------------------------------------------------------------

    def load_row(self, kind: str, key: str, value: Mapping[str, Any]) -> None:
        if kind == "po_line":
            self.suppliers.load_line(value)
        elif kind == "series":
            self.demand.load(value)
        elif kind == "clock:receipts":
            self.receipt_clocks.load(key, value)
        elif kind == "clock:orders":
            self.order_clocks.load(key, value)
        elif kind == "meta" and key == "suppliers":
            self.suppliers.load_meta(value)
        elif kind == "meta" and key == "demand":
            self.demand.load_meta(value)

    def load(self, cur: psycopg.Cursor[Any], schema: str) -> None:
        cur.execute(
            sql.SQL("SELECT kind, key, value FROM {s}.supply_state ORDER BY kind, key").format(
                s=sql.Identifier(schema)
            )
        )
        for kind, key, value in cur:
            self.load_row(kind, key, value)

    def writes(self) -> SupplyWrites:
        state: dict[tuple[str, str], dict[str, Any] | None] = {}
        lines, cards = self.suppliers.take_dirty()
        for key, value in lines.items():
            state[("po_line", key)] = value
        demand = self.demand.take_dirty()
        for key, value in demand.items():
            state[("series", key)] = value
        for kind, clocks in (
            ("clock:receipts", self.receipt_clocks),
            ("clock:orders", self.order_clocks),
        ):
            for key, value in clocks.take_dirty():
                state[(kind, key)] = value
        if self.suppliers.meta_dirty:
            state[("meta", "suppliers")] = self.suppliers.meta()
            self.suppliers.meta_dirty = False
        if self.demand.meta_dirty:
            state[("meta", "demand")] = self.demand.meta()
            self.demand.meta_dirty = False
        return SupplyWrites(state=state, scorecards=tuple(cards), demand=demand)


# --- reads for the console ---------------------------------------------------------------------


def _rows(
    conn: psycopg.Connection[Any], query: sql.Composed, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [d.name for d in cur.description or ()]
        found = [dict(zip(names, row, strict=True)) for row in cur]
    conn.commit()
    return found


def read_scorecards(
    conn: psycopg.Connection[Any], schema: str, supplier: str | None, window_days: int | None
) -> list[dict[str, Any]]:
    """Scorecard rows, worst OTIF first (no verdict last), then supplier and window."""
    query = sql.SQL(
        "SELECT {c} FROM {s}.supplier_scorecards "
        "WHERE (%(supplier)s::text IS NULL OR supplier_id = %(supplier)s) "
        "AND (%(window)s::int IS NULL OR window_days = %(window)s) "
        "ORDER BY otif_rate ASC NULLS LAST, supplier_id, window_days"
    ).format(
        c=sql.SQL(", ").join(sql.Identifier(c) for c in SCORECARD_COLUMNS),
        s=sql.Identifier(schema),
    )
    return _rows(conn, query, {"supplier": supplier, "window": window_days})


def read_demand(
    conn: psycopg.Connection[Any], schema: str, *, shifted_only: bool, limit: int
) -> list[dict[str, Any]]:
    """Demand series: those in a shift (or all), largest departure first."""
    query = sql.SQL(
        "SELECT {c} FROM {s}.demand_rates "
        "WHERE NOT %(shifted)s OR shift IS NOT NULL "
        "ORDER BY abs(z) DESC NULLS LAST, series LIMIT %(limit)s"
    ).format(
        c=sql.SQL(", ").join(sql.Identifier(c) for c in DEMAND_COLUMNS),
        s=sql.Identifier(schema),
    )
    return _rows(conn, query, {"shifted": shifted_only, "limit": limit})


# -- the figures as people read them: the CLI and the console print them alike -------------


def figure_text(value: Any) -> str:
    """A serving-table value as ``scv suppliers scorecard --json`` and ``scv demand shifts``
    print it, and the console shows it ("-": none)."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def rate_percent(value: Decimal | str | None) -> str:
    """A rate (0..1) as the scorecard table prints it: ``83.3%``."""
    if value is None:
        return "-"
    return f"{Decimal(value) * 100:.1f}%"
