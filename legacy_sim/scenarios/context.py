"""What every scenario works on: the world picture, the seeded generator and the work queues.

A scenario is a plain function ``(Context, TxPlan) -> bool`` that plans one business
transaction (``False``: nothing to do, the planner falls back to an order entry). The
``Context`` holds what they share and the helpers that change it through the plan's undo
journal, so a rolled-back transaction leaves the picture as it was. It also holds the
simulator's own rules for the canonical keys (``order_id``, ``po_id``, ``line_id``): the
ledger keys what it expects with these, on purpose not with the mappers'.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from legacy_sim import gs1
from legacy_sim.engine import TxPlan
from legacy_sim.quirks import order_ref, wms_key
from legacy_sim.rows import Moment
from legacy_sim.state import (
    ORDER_STAGES,
    PO_STAGES,
    Order,
    OrderStage,
    Party,
    PoStage,
    PurchaseOrder,
    Site,
    Stock,
    World,
)


@dataclass(slots=True)
class Shock:
    """A regional demand shock on the run's schedule: from ``starts`` to ``ends`` seconds
    after the run's start, orders of ``ship_tos`` (the region's customers) are
    ``direction`` ``spike`` (most orders come from the region) or ``drop`` (none do)."""

    direction: str
    region: str
    ship_tos: tuple[int, ...]
    starts: float
    ends: float
    started: bool = False
    ended: bool = False


def order_id(world: World, order: Order) -> str:
    return order_ref(world.company, "SO", order.doco)


def po_id(world: World, po: PurchaseOrder) -> str:
    return order_ref(world.company, "OP", po.doco)


def line_id(lnid: int) -> str:
    return f"{Decimal(lnid).scaleb(-3):.3f}"


def day_end(site: Site, at: Moment, days: int) -> datetime:
    """The UTC instant the site's local date ``days`` from ``at``'s ends (its next midnight)."""
    day = at.today(site) + timedelta(days=days + 1)
    return datetime.combine(day, time(), ZoneInfo(site.tz)).astimezone(UTC)


@dataclass(slots=True)
class Context:
    """The world picture, the run's generator and the indexes built from the picture."""

    world: World
    rng: random.Random
    #: Orders (DOCO) per stage, in the order they reached it: each stage works the oldest.
    queues: dict[OrderStage, list[int]]
    po_queues: dict[PoStage, list[int]]
    #: (item, site) → keys of its ``LOTxLOCxID`` rows.
    index: dict[tuple[int, str], list[str]]
    #: Zipf popularity (s = 1.1) over each site's items, as cumulative weights.
    popularity: dict[str, list[float]]
    site_list: list[Site]
    customers: dict[int, Party]
    #: Probe → schedule time of its last reading in this run (see ``sensors.probe_due``).
    probe_scheduled: dict[str, float] = field(default_factory=dict)
    #: ``--visibility``: the run's demand shocks (``demand.schedule``) and the orders picked
    #: with a cut in this run (their short shipment's cause).
    shocks: list[Shock] = field(default_factory=list)
    cut_orders: dict[str, None] = field(default_factory=dict)

    @staticmethod
    def build(world: World, rng: random.Random) -> Context:
        queues: dict[OrderStage, list[int]] = {s: [] for s in ORDER_STAGES}
        for order in world.orders.values():
            queues[order.stage].append(order.doco)
        po_queues: dict[PoStage, list[int]] = {s: [] for s in PO_STAGES}
        for po in world.pos.values():
            po_queues[po.stage].append(po.doco)
        index: dict[tuple[int, str], list[str]] = {}
        for stock in world.stock.values():
            index.setdefault((stock.itm, stock.mcu), []).append(stock.key)
        popularity = {
            site: list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(items))))
            for site, items in world.site_items.items()
        }
        return Context(
            world=world,
            rng=rng,
            queues=queues,
            po_queues=po_queues,
            index=index,
            popularity=popularity,
            site_list=list(world.sites.values()),
            customers={party.an8: party for party in world.customers},
        )

    def inventory_key(self, itm: int, site_mcu: str) -> str:
        return f"{site_mcu}|{self.world.items[itm].litm}"

    def touch(self, tx: TxPlan, itm: int, site_mcu: str, **deltas: int) -> None:
        """Change F41021 buckets of item x site; the planner writes each touched row once."""
        b = self.world.balance(itm, site_mcu)
        for attr, delta in deltas.items():
            tx.journal.add(b, attr, delta)
        tx.touched[(itm, site_mcu)] = None

    def move(self, tx: TxPlan, order: Order, stage: OrderStage) -> None:
        tx.journal.remove(self.queues[order.stage], order.doco)
        tx.journal.append(self.queues[stage], order.doco)
        tx.journal.set(order, "stage", stage)

    def move_po(self, tx: TxPlan, po: PurchaseOrder, stage: PoStage) -> None:
        tx.journal.remove(self.po_queues[po.stage], po.doco)
        tx.journal.append(self.po_queues[stage], po.doco)
        tx.journal.set(po, "stage", stage)

    def first(self, stage: OrderStage) -> Order | None:
        queue = self.queues[stage]
        return self.world.orders[queue[0]] if queue else None

    def next_key(self, counter: str, width: int = 10) -> str:
        value = getattr(self.world.counters, counter) + 1
        setattr(self.world.counters, counter, value)  # next numbers are never given back
        return wms_key(value, width)

    def next_sscc(self) -> str:
        self.world.counters.sscc += 1
        return gs1.sscc(self.world.counters.sscc)

    def pick_items(self, site: Site, count: int) -> list[int]:
        """Up to ``count`` distinct items of the site, drawn by popularity."""
        items = self.world.site_items[site.mcu]
        drawn = self.rng.choices(items, cum_weights=self.popularity[site.mcu], k=count)
        return list(dict.fromkeys(drawn))

    def random_stock(self, site: Site) -> Stock | None:
        """The first stock row of a uniformly drawn item of the site (None: none in stock)."""
        items = self.world.site_items[site.mcu]
        itm = items[self.rng.randrange(len(items))]
        keys = self.index.get((itm, site.mcu))
        return self.world.stock[keys[0]] if keys else None

    def drop_stock(self, tx: TxPlan, stock: Stock) -> None:
        tx.journal.pop(self.world.stock, stock.key)
        tx.journal.remove(self.index[(stock.itm, stock.mcu)], stock.key)
