"""``scv sim run --visibility`` without databases: each injected cause does what it says in
the rows it writes, is marked, and nothing else is; the default mix marks nothing."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from legacy_sim import ledger
from legacy_sim.engine import Outcome, TxPlan
from legacy_sim.profiles import PROFILES
from legacy_sim.quirks import julian
from legacy_sim.rows import Moment
from legacy_sim.scenarios import demand, planner
from legacy_sim.scenarios.context import Context
from legacy_sim.seed import build_world

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
RATE = 20.0
COUNT = 4000


def _run(mix: planner.Mix, count: int = COUNT, seed: int = 7) -> tuple[Context, list[TxPlan]]:
    world = build_world(3, PROFILES["demo"])
    ctx = Context.build(world, random.Random(f"run:{seed}"))
    if mix is planner.VISIBILITY:
        ctx.shocks = demand.schedule(world, seed, count / RATE)
    plans = []
    for seq in range(1, count + 1):
        tx = TxPlan(
            seq=seq,
            at=Moment(T0 + timedelta(seconds=seq / RATE)),
            rollback=False,
            scheduled=(seq - 1) / RATE,
        )
        plans.append(planner.plan(ctx, tx, mix))
    return ctx, plans


@pytest.fixture(scope="module")
def visible() -> tuple[Context, list[TxPlan]]:
    return _run(planner.VISIBILITY)


def _rows(plan: TxPlan, table: str, kind: str) -> list[dict[str, Any]]:
    work = plan.erp if table.startswith("erp.") else plan.wms
    return [row for op in work.ops if op.table == table and op.kind == kind for row in op.params]


def _marks(plans: list[TxPlan]) -> Counter[str]:
    return Counter(m["kind"] for p in plans for m in p.marks)


def test_the_default_mix_marks_nothing_and_injects_nothing() -> None:
    _, plans = _run(planner.DEFAULT, 1500)
    assert _marks(plans) == Counter()
    injected = set(planner.VISIBILITY.names) - set(planner.DEFAULT.names)
    assert injected
    assert not injected & {p.kind for p in plans}


def test_every_cause_is_injected_and_marked(visible: tuple[Context, list[TxPlan]]) -> None:
    _, plans = visible
    kinds = Counter(p.kind for p in plans)
    for kind in ("late_po_issue", "partial_receipt", "cancel_po_line", "backdated_promise"):
        assert kinds[kind] > 0, kinds
    assert kinds["cut_pick"] > 0, kinds
    marks = _marks(plans)
    for kind in (
        "late_inbound_po",
        "partial_receipt",
        "po_line_cancelled",
        "late_delivery",
        "short_shipment",
        "short_receipt",
        "late_receipt",
        "demand_spike",
        "demand_spike_over",
        "demand_drop",
        "demand_drop_over",
    ):
        assert marks[kind] > 0, marks


#: The mark each injecting step leaves (besides the shocks' edges, which any step may carry).
CAUSE_MARK = {
    "late_po_issue": "late_inbound_po",
    "partial_receipt": "partial_receipt",
    "cancel_po_line": "po_line_cancelled",
    "backdated_promise": "late_delivery",
}
SHOCK_EDGES = {"demand_spike", "demand_spike_over", "demand_drop", "demand_drop_over"}


def test_marks_come_only_with_their_cause(visible: tuple[Context, list[TxPlan]]) -> None:
    _, plans = visible
    for p in plans:
        kinds = {m["kind"] for m in p.marks} - SHOCK_EDGES
        short = any(
            e["type"] == "shipment.exception" and e.get("kind") == "SHORT_SHIP" for e in p.events
        )
        assert ("short_shipment" in kinds) == short, p.kind
        received = [e for e in p.events if e["type"] == "goods.received"]
        shorts = {str(e["line_id"]) for e in received if int(e["variance"]) < 0}
        marked_short = {m["entity"] for m in p.marks if m["kind"] == "short_receipt"}
        assert marked_short == (shorts if p.kind == "receipt" else set()), p.kind
        assert kinds - {"short_shipment", "short_receipt", "late_receipt"} == (
            {CAUSE_MARK[p.kind]} if p.kind in CAUSE_MARK else set()
        )


def test_a_late_po_is_promised_before_today_and_ordered_before_that(
    visible: tuple[Context, list[TxPlan]],
) -> None:
    ctx, plans = visible
    late = [p for p in plans if p.kind == "late_po_issue"]
    for p in late:
        lines = _rows(p, "erp.proddta.f4311", "c")
        site = ctx.world.sites[lines[0]["pdmcu"].strip()]
        today = julian(p.at.today(site))
        for row in lines:
            assert row["pdtrdj"] < row["pdpddj"] < today
        assert [m["entity"] for m in p.marks] == [
            f"{p.keys['po_id']}/{row['pdlnid'] / 1000:.3f}" for row in lines
        ]
        for m in p.marks:
            assert m["due"] <= p.at.utc  # the promised day is already over


def test_a_partial_receipt_leaves_each_line_open_and_on_order(
    visible: tuple[Context, list[TxPlan]],
) -> None:
    _, plans = visible
    for p in (p for p in plans if p.kind == "partial_receipt"):
        updates = _rows(p, "erp.proddta.f4311", "u")
        assert updates
        for row in updates:
            assert row["v_pdnxtr"] == "400"
            assert row["v_pduopn"] > 0
            assert 0 < row["v_pdurec"] < row["v_pduopn"] + row["v_pdurec"]
        received = [e for e in p.events if e["type"] == "goods.received"]
        assert received
        assert all(int(e["variance"]) < 0 for e in received)
        on_order = [e for e in p.events if e["type"] == "inventory.level_changed"]
        assert on_order  # the balance still carries what is open


def test_a_cancelled_po_line_is_status_980_and_never_advised(
    visible: tuple[Context, list[TxPlan]],
) -> None:
    _, plans = visible
    cancelled: set[str] = set()
    late_received: set[str] = set()
    for p in plans:
        if p.kind == "cancel_po_line":
            (row,) = _rows(p, "erp.proddta.f4311", "u")
            assert (row["v_pdlttr"], row["v_pdnxtr"], row["v_pduopn"]) == ("980", "999", 0)
            assert p.events[0] == {
                "type": "po.changed",
                "key": p.keys["po_id"],
                "changed": ["status"],
                "lines": "1",
            }
            cancelled.add(p.marks[0]["entity"])
        if p.kind == "receipt" and any(m["kind"] == "late_receipt" for m in p.marks):
            late_received.add(str(p.keys["po_id"]))
        for event in p.events:
            if event["type"] == "inbound.advised":
                advised = {str(ln["line_id"]) for ln in event["lines"]}
                assert not advised & cancelled
    assert cancelled
    late_issued = {str(p.keys["po_id"]) for p in plans if p.kind == "late_po_issue"}
    assert late_received
    assert late_received <= late_issued


def test_a_backdated_promise_is_past_for_ship_and_delivery(
    visible: tuple[Context, list[TxPlan]],
) -> None:
    ctx, plans = visible
    for p in (p for p in plans if p.kind == "backdated_promise"):
        updates = _rows(p, "erp.proddta.f4211", "u")
        (mark,) = [m for m in p.marks if m["kind"] == "late_delivery"]
        site = ctx.world.sites[mark["detail"]["site_id"]]
        today = julian(p.at.today(site))
        assert updates
        assert all(r["v_sdrsdj"] < today and r["v_sdppdj"] < today for r in updates)
        assert mark["entity"] == p.keys["order_id"]
        assert mark["due"] <= p.at.utc


def test_a_cut_pick_ships_less_than_ordered(visible: tuple[Context, list[TxPlan]]) -> None:
    _, plans = visible
    cut_orders = {p.keys["order_id"] for p in plans if p.kind == "cut_pick"}
    shorts = {
        m["entity"]: m["detail"]["cause"]
        for p in plans
        for m in p.marks
        if m["kind"] == "short_shipment"
    }
    shipped = {e["order_id"] for p in plans for e in p.events if e["type"] == "shipment.dispatched"}
    assert cut_orders & shipped
    for oid in cut_orders & shipped:
        assert shorts[oid] == "cut"
    for p in (p for p in plans if p.kind == "cut_pick"):
        (cut,) = _rows(p, "wms.wmwhse1.PICKDETAIL", "u")[:1]
        assert cut["k_PickDetailKey"] == p.keys["cut"]["PickDetailKey"]
        allocated = {
            e["line_id"]: int(e["allocated_qty"])
            for q in plans
            for e in q.events
            if e["type"] == "order.allocated" and e["key"] == p.keys["order_id"]
        }
        picked = sum(int(e["picked_qty"]) for e in p.events if e["type"] == "order.picked")
        assert picked == sum(allocated.values()) - int(p.keys["cut"]["qty"])


def _regions_share(plans: list[TxPlan], ctx: Context, lo: float, hi: float) -> Counter[str]:
    region = demand.regions(ctx.world)
    return Counter(
        region[int(e["customer_id"])]
        for p in plans
        if lo <= p.scheduled < hi
        for e in p.events
        if e["type"] == "order.placed"
    )


def test_the_shocks_move_their_regions_orders(visible: tuple[Context, list[TxPlan]]) -> None:
    ctx, plans = visible
    spike, drop = ctx.shocks
    before = _regions_share(plans, ctx, 0, spike.starts)
    during_spike = _regions_share(plans, ctx, spike.starts, spike.ends)
    during_drop = _regions_share(plans, ctx, drop.starts, drop.ends)

    def share(counts: Counter[str], region: str) -> float:
        return counts[region] / sum(counts.values())

    assert share(during_spike, spike.region) > 2 * share(before, spike.region)
    assert during_drop[drop.region] == 0 < before[drop.region]
    starts = [p for p in plans if any(m["kind"] == "demand_spike" for m in p.marks)]
    assert len(starts) == 1
    assert starts[0].scheduled >= spike.starts
    assert starts[0].scheduled - 1 / RATE < spike.starts


def test_undo_restores_the_world_under_the_visibility_mix() -> None:
    ctx, _ = _run(planner.VISIBILITY, 600)
    before = ctx.world.model_dump_json(exclude={"counters"})
    queues = {k: list(v) for k, v in ctx.queues.items()}
    for seq in range(1000, 1200):
        tx = TxPlan(seq=seq, at=Moment(T0), rollback=True, scheduled=seq / RATE)
        planner.plan(ctx, tx, planner.VISIBILITY)
        tx.journal.undo()
    assert ctx.world.model_dump_json(exclude={"counters"}) == before
    assert ctx.queues == queues


def test_marks_are_due_at_the_later_of_their_time_and_the_commit() -> None:
    tx = TxPlan(seq=3, at=Moment(T0), rollback=False)
    early, late = T0 - timedelta(days=1), T0 + timedelta(days=1)
    tx.mark("late_inbound_po", "A", early)
    tx.mark("late_delivery", "B", late)
    tx.mark("short_shipment", "C")
    commit = T0 + timedelta(seconds=1)
    rows = ledger.mark_rows(9, tx, Outcome(True, {"erp": int(commit.timestamp() * 1e9)}))
    assert [(r["n"], r["entity"], r["due_at"]) for r in rows] == [
        (1, "A", commit),
        (2, "B", late),
        (3, "C", commit),
    ]
    assert ledger.mark_rows(9, tx, Outcome(False, {})) == []


def test_the_visibility_world_keeps_the_legacy_invariants(
    visible: tuple[Context, list[TxPlan]],
) -> None:
    ctx, _ = visible
    world = ctx.world
    physical: Counter[tuple[int, str]] = Counter()
    for stock in world.stock.values():
        assert stock.qty >= stock.alloc + stock.picked >= 0, stock
        assert stock.alloc >= 0
        physical[(stock.itm, stock.mcu)] += stock.qty
    for b in world.balances.values():
        assert b.pqoh == physical[(b.itm, b.mcu)]
        assert min(b.pcom, b.hcom, b.preq) >= 0, b
        soft = sum(
            ln.qty_base
            for o in world.orders.values()
            if o.stage == "entered" and o.mcu == b.mcu
            for ln in o.open_lines
            if ln.itm == b.itm
        )
        assert b.pcom == soft
