"""The planner: draws the next business transaction by weight and plans it.

Each draw takes one step by its weight from the mix; a step with nothing to do (no order
waiting at its stage, say) gives way to an order entry, which always can. After the step,
every ERP balance it touched is written once (``F41021``) with its
``inventory.level_changed``. Every choice comes from the seeded ``random.Random`` and the
in-memory picture, in a fixed order, so a seed and a starting state fix the whole sequence.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.scenarios import (
    demand,
    inbound,
    inbound_exceptions,
    inventory,
    outbound,
    outbound_exceptions,
    sensors,
)
from legacy_sim.scenarios.context import Context
from legacy_sim.schemas import erp

Step = Callable[[Context, TxPlan], bool]
#: Looks at a planned transaction (after its balances are written) to mark what it caused.
Observer = Callable[[Context, TxPlan], None]


def promise_change(ctx: Context, tx: TxPlan) -> bool:
    """Half the promised-date changes are an order's, half a PO's."""
    if ctx.rng.random() < 0.5:
        return outbound.order_promise_change(ctx, tx)
    return inbound.po_promise_change(ctx, tx)


#: The default traffic: each step with its relative weight. Outbound steps are equal so orders
#: flow through; batch steps are rare but touch many rows (the CDC bursts of DESIGN §1.3
#: item 8). The order of the entries is part of the draw: reordering changes every plan.
DEFAULT_STEPS: tuple[tuple[str, float, Step], ...] = (
    ("order_entry", 10, outbound.order_entry),
    ("release", 10, outbound.release),
    ("allocate", 10, outbound.allocate),
    ("pick", 10, outbound.pick),
    ("ship", 10, outbound.ship),
    ("sales_update", 0.4, outbound.sales_update),
    ("purge", 0.4, outbound.purge),
    ("cancel_line", 0.4, outbound.cancel_line),
    ("promise_change", 1.5, promise_change),
    ("po_issue", 2.4, inbound.po_issue),
    ("asn", 2.4, inbound.asn),
    ("receipt", 2.4, inbound.receipt),
    ("receipt_reversal", 0.03, inbound.receipt_reversal),
    ("cycle_count", 2.5, inventory.cycle_count),
    ("temperature", 1.5, sensors.temperature),
    ("item_edit", 0.3, inventory.item_edit),
    ("housekeeping", 1.0, inventory.housekeeping),
)
#: The step every other one gives way to when it has nothing to do.
FALLBACK = "order_entry"


@dataclass(frozen=True, slots=True)
class Mix:
    """The steps a run draws from (names in draw order, cumulative weights, functions) and
    the observers that mark each planned transaction."""

    names: list[str]
    cum_weights: list[float]
    steps: Mapping[str, Step]
    observers: tuple[Observer, ...] = ()

    @staticmethod
    def of(
        entries: tuple[tuple[str, float, Step], ...], observers: tuple[Observer, ...] = ()
    ) -> Mix:
        names = [name for name, _, _ in entries]
        if len(set(names)) != len(names) or FALLBACK not in names:
            raise ValueError(f"a mix names each step once and has {FALLBACK!r}: {names}")
        return Mix(
            names=names,
            cum_weights=list(itertools.accumulate(weight for _, weight, _ in entries)),
            steps={name: step for name, _, step in entries},
            observers=observers,
        )

    @property
    def weights(self) -> dict[str, float]:
        """Each step's relative weight (as given, up to float rounding)."""
        previous = [0.0, *self.cum_weights[:-1]]
        return {n: c - p for n, c, p in zip(self.names, self.cum_weights, previous, strict=True)}


DEFAULT = Mix.of(DEFAULT_STEPS)

#: ``scv sim run --visibility``: the default traffic with the exceptions of issue 19 beside
#: it (one draw in 134 to 224 each at these weights) and orders entered through the regional
#: demand shocks; every injected cause, and every short shipment, is marked.
VISIBILITY_STEPS: tuple[tuple[str, float, Step], ...] = (
    *((n, w, demand.order_entry if n == "order_entry" else s) for n, w, s in DEFAULT_STEPS),
    ("late_po_issue", 0.4, inbound_exceptions.late_po_issue),
    ("partial_receipt", 0.4, inbound_exceptions.partial_receipt),
    ("cancel_po_line", 0.3, inbound_exceptions.cancel_po_line),
    ("backdated_promise", 0.3, outbound_exceptions.backdated_promise),
    ("cut_pick", 0.5, outbound_exceptions.cut_pick),
)
VISIBILITY = Mix.of(
    VISIBILITY_STEPS,
    observers=(
        outbound_exceptions.short_shipments,
        inbound_exceptions.receipt_marks,
        demand.shock_marks,
    ),
)


def plan(ctx: Context, tx: TxPlan, mix: Mix = DEFAULT) -> TxPlan:
    """Plan ``tx`` as the next business transaction drawn from ``mix``."""
    kind = ctx.rng.choices(mix.names, cum_weights=mix.cum_weights)[0]
    for candidate in (kind, FALLBACK):
        tx.kind = candidate
        if mix.steps[candidate](ctx, tx):
            break
    finish(ctx, tx)
    for observe in mix.observers:
        observe(ctx, tx)
    return tx


#: The ERP program a step's balance updates are stamped with (``lipid``); others: EP4310.
_BALANCE_PROGRAM = {
    "order_entry": "EP4210",
    "cancel_line": "EP4210",
    "release": "R42520",
    "ship": "EP4205",
    "receipt": "EP4312",
    "receipt_reversal": "EP4312",
    "partial_receipt": "EP4312",
    "cycle_count": "EP4112",
}


def finish(ctx: Context, tx: TxPlan) -> None:
    """One F41021 update and one ``inventory.level_changed`` per balance touched."""
    w = ctx.world
    for itm, site_mcu in tx.touched:
        site = w.sites[site_mcu]
        b = w.balance(itm, site_mcu)
        tx.db("erp").update(
            erp.F41021,
            rows.f41021_key(itm, site),
            rows.f41021_values(w, itm, site, tx.at, _BALANCE_PROGRAM.get(tx.kind, "EP4310")),
        )
        tx.event(
            "inventory.level_changed",
            ctx.inventory_key(itm, site_mcu),
            on_hand=b.pqoh,
            allocated=b.pcom + b.hcom,
            on_order=b.preq,
            available=b.pqoh - b.pcom - b.hcom,
        )
