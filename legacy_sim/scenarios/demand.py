"""Regional demand shocks (``scv sim run --visibility``): a spike and a drop on a schedule.

A customer's region comes from its ship-to city (``REGIONS``; the canonical events carry the
ship-to's address number only, so a consumer maps it with ``regions(world)``). Two shocks per
run, on the run's schedule (seconds since its start, ``TxPlan.scheduled``), so a seed gives
the same shocks however the clock runs:

- a **spike** in one region from ``SPIKE`` (start, end) x the run's duration: each order's
  customer is redrawn from that region with probability ``SPIKE_SHARE`` (its share of orders
  goes from s, its share of customers, to 0.75 + 0.25 s);
- a **drop** in another region from ``DROP`` x the duration: a customer drawn from that
  region is redrawn from the others (its orders stop).

The total order rate stays as it was; which regions is drawn from ``shocks:<seed>``. Marks:
``demand_spike`` / ``demand_drop`` with entity ``region:<name>`` at the first transaction on
or after the start (due at its commit), and ``demand_spike_over`` / ``demand_drop_over`` at the
first one on or after the end (the episode may resolve from then), each with the region's
ship-tos and the scheduled window.
"""

from __future__ import annotations

import random

from legacy_sim.engine import TxPlan
from legacy_sim.scenarios import outbound
from legacy_sim.scenarios.context import Context, Shock
from legacy_sim.state import Party, World

REGIONS: dict[str, str] = {
    "Reno": "west", "Boise": "west", "Fresno": "west", "Spokane": "west", "Sacramento": "west",
    "Memphis": "central", "Tulsa": "central", "Wichita": "central", "Omaha": "central",
    "Knoxville": "central",
    "Columbus": "east", "Toledo": "east", "Albany": "east", "Dayton": "east",
    "Hamilton": "east", "Savannah": "east",
}  # fmt: skip
SPIKE = (0.35, 0.55)
DROP = (0.65, 0.85)
SPIKE_SHARE = 0.75


def regions(world: World) -> dict[int, str]:
    """Ship-to (customer address number) → region; customers without a known city have none."""
    return {c.an8: REGIONS[c.city] for c in world.customers if c.city in REGIONS}


def schedule(world: World, seed: int, duration: float) -> list[Shock]:
    """The run's two shocks: a spike and a drop in two different regions."""
    by_region: dict[str, list[int]] = {}
    for an8, region in sorted(regions(world).items()):
        by_region.setdefault(region, []).append(an8)
    names = sorted(by_region)
    if len(names) < 2:
        return []
    up, down = random.Random(f"shocks:{seed}").sample(names, 2)
    return [
        Shock("spike", up, tuple(by_region[up]), SPIKE[0] * duration, SPIKE[1] * duration),
        Shock("drop", down, tuple(by_region[down]), DROP[0] * duration, DROP[1] * duration),
    ]


def _active(ctx: Context, tx: TxPlan) -> list[Shock]:
    return [s for s in ctx.shocks if s.starts <= tx.scheduled < s.ends]


def order_entry(ctx: Context, tx: TxPlan) -> bool:
    """``outbound.order_entry`` with the customer redrawn by the shocks in force."""
    site = ctx.rng.choice(ctx.site_list)
    customer = ctx.rng.choice(ctx.world.customers)
    for shock in _active(ctx, tx):
        if shock.direction == "spike" and ctx.rng.random() < SPIKE_SHARE:
            customer = ctx.customers[ctx.rng.choice(shock.ship_tos)]
        elif shock.direction == "drop" and customer.an8 in shock.ship_tos:
            customer = ctx.rng.choice(_outside(ctx, shock))
    return outbound.enter_order(ctx, tx, site, customer)


def _outside(ctx: Context, shock: Shock) -> list[Party]:
    members = set(shock.ship_tos)
    return [c for c in ctx.world.customers if c.an8 not in members]


def shock_marks(ctx: Context, tx: TxPlan) -> None:
    """Mark the start and the end of each shock at the first transaction on or after it."""
    for shock in ctx.shocks:
        for edge, at, kind in (
            ("started", shock.starts, f"demand_{shock.direction}"),
            ("ended", shock.ends, f"demand_{shock.direction}_over"),
        ):
            if not getattr(shock, edge) and tx.scheduled >= at:
                tx.journal.set(shock, edge, True)
                tx.mark(
                    kind,
                    f"region:{shock.region}",
                    region=shock.region,
                    ship_tos=list(shock.ship_tos),
                    starts_s=shock.starts,
                    ends_s=shock.ends,
                )
