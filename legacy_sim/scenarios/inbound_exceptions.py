"""Inbound exceptions (``scv sim run --visibility``): the supplier side of issue 19.

- ``late_po_issue``: a PO keyed late (its order date 2-7 days before its promised date, the
  promise 1-3 days ago): the promised date has passed and nothing is received, so its lines
  are late inbound PO lines until the normal flow receives them (late against the promise).
- ``partial_receipt``: the oldest advised PO is received in part, each line staying open for
  the rest (``inbound.receive(partial=True)``): not in full, and open.
- ``cancel_po_line``: one line of an issued PO of several lines is cancelled (ERP status 980,
  nothing open, off order); the PO goes on with the others.

Each leaves its mark (``TxPlan.mark``): ``late_inbound_po`` per PO line, due when its promised
day ended at the site; ``partial_receipt`` and ``po_line_cancelled`` per PO line, due at the
commit. The observer ``receipt_marks`` marks what any receipt of a ``--visibility`` run does
to a supplier's score: ``short_receipt`` per line received short of its order (the default
traffic's few short lines), ``late_receipt`` per line of a PO received after its promised
date (the late POs above), both due at the commit.
"""

from __future__ import annotations

import random
from datetime import timedelta

from legacy_sim import rows
from legacy_sim.engine import TxPlan
from legacy_sim.scenarios import inbound
from legacy_sim.scenarios.context import Context, day_end, line_id, po_id
from legacy_sim.schemas import erp

LATE_INBOUND_PO = "late_inbound_po"
SHORT_RECEIPT = "short_receipt"
LATE_RECEIPT = "late_receipt"
PARTIAL_RECEIPT = "partial_receipt"
PO_LINE_CANCELLED = "po_line_cancelled"


def late_po_issue(ctx: Context, tx: TxPlan) -> bool:
    late_by: list[int] = []

    def dates(rng: random.Random) -> tuple[int, int]:
        days_late, lead = rng.randint(1, 3), rng.randint(2, 7)
        late_by.append(days_late)
        return -days_late - lead, -days_late

    inbound.issue_po(ctx, tx, dates)
    po = ctx.world.pos[ctx.world.counters.po]
    site = ctx.world.sites[po.mcu]
    pid = po_id(ctx.world, po)
    promised = tx.at.today(site) + timedelta(days=po.pddj_days)
    for pl in po.lines:
        tx.mark(
            LATE_INBOUND_PO,
            f"{pid}/{line_id(pl.lnid)}",
            day_end(site, tx.at, po.pddj_days),
            po_id=pid,
            supplier_id=po.an8,
            site_id=site.mcu,
            days_late=late_by[0],
            promised_date=promised.isoformat(),
        )
    return True


def partial_receipt(ctx: Context, tx: TxPlan) -> bool:
    queue = ctx.po_queues["advised"]
    if not queue:
        return False
    po = ctx.world.pos[queue[0]]
    if not inbound.receive(ctx, tx, partial=True):
        return False
    pid = po_id(ctx.world, po)
    for pl in po.lines:
        tx.mark(
            PARTIAL_RECEIPT,
            f"{pid}/{line_id(pl.lnid)}",
            po_id=pid,
            supplier_id=po.an8,
            ordered_base=pl.qty_base,
            received_base=pl.received,
        )
    return True


def cancel_po_line(ctx: Context, tx: TxPlan) -> bool:
    w = ctx.world
    several = [doco for doco in ctx.po_queues["issued"] if len(w.pos[doco].lines) > 1]
    if not several:
        return False
    po = w.pos[ctx.rng.choice(several)]
    pl = ctx.rng.choice(po.lines)
    site = w.sites[po.mcu]
    pid = po_id(w, po)
    line = f"{pid}/{line_id(pl.lnid)}"
    tx.db("erp").update(
        erp.F4311,
        rows.pd_key(w, po, pl),
        {"pdlttr": "980", "pdnxtr": "999", "pduopn": 0} | rows.audit("pd", "EP4310", site, tx.at),
    )
    ctx.touch(tx, pl.itm, site.mcu, preq=-pl.qty_base)
    # The picture forgets the line: the ASN and the receipt go on with the others.
    tx.journal.remove(po.lines, pl)
    tx.event("po.changed", pid, changed=["status"], lines=1)
    tx.mark(PO_LINE_CANCELLED, line, po_id=pid, supplier_id=po.an8, qty_base=pl.qty_base)
    tx.keys = {"po_id": pid, "line_id": line}
    return True


def receipt_marks(ctx: Context, tx: TxPlan) -> None:
    """Mark the lines a receipt closes short, and those it receives after their promise."""
    if tx.kind not in ("receipt", "partial_receipt"):
        return
    po = ctx.world.pos.get(int(str(tx.keys["po_id"]).rsplit("-", 1)[1]))
    # The promise is kept in days from the PO's last write, which is today within a run.
    late = po is not None and po.pddj_days < 0
    for event in tx.events:
        if event["type"] != "goods.received":
            continue
        if tx.kind == "receipt" and int(event["variance"]) < 0:
            tx.mark(SHORT_RECEIPT, str(event["line_id"]), shortfall_base=-int(event["variance"]))
        if late:
            tx.mark(LATE_RECEIPT, str(event["line_id"]))
