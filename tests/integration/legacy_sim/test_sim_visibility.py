"""``scv sim run --visibility`` on the real databases and through the real chain: every cause
it marks is in the legacy rows as the mark says, the legacy invariants hold, and
``scv sim verify`` still finds every committed business fact in the canonical topics once
(the row changes of the new scenarios, the PO line cancellations' ``po.changed`` included).

The module fixture resets the shared legacy databases (``scv sim init``), applies the
connectors and runs the simulator with ``--visibility``; the test then runs a pipeline of its
own (own group, transactional ids and topic prefix) over that backlog.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from chain import Pipeline, Scope, scv, seed_world
from rawtopics import Offsets, settled_ends, wait_quiet
from sqlalchemy import create_engine, text

from legacy_sim import expected, ledger
from legacy_sim.quirks import julian
from legacy_sim.verify import read_ledger
from transforms.readback import canonical_payloads
from transforms.settings import TransformsSettings

INIT_SEED = 616
RATE, DURATION, SEED = 40, 25, 3
#: Every kind of mark a run of this length makes (seeded: the same plan every time).
MARK_KINDS = {
    "late_inbound_po",
    "partial_receipt",
    "po_line_cancelled",
    "late_delivery",
    "short_shipment",
    "demand_spike",
    "demand_spike_over",
    "demand_drop",
    "demand_drop_over",
}
#: Marks a run may also make (a short line of the default receipts, a late PO's receipt).
MAY_MARK = {"short_receipt", "late_receipt"}


@dataclass(frozen=True)
class Run:
    env: dict[str, str]
    start: Offsets
    scope: Scope
    marks: list[ledger.Mark]
    output: str


@pytest.fixture(scope="module")
def run(endpoints: dict[str, str]) -> Run:
    env = {**os.environ, **endpoints}
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start = settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"])
    seed_world(env, INIT_SEED)
    output = scv(
        env,
        "sim", "run", "--visibility", "--rate", str(RATE), "--duration", str(DURATION),
        "--seed", str(SEED), "--rollback", "0.05",
    )  # fmt: skip
    run_id = int(output.split("sim: run ", 1)[1].split()[0])
    wait_quiet(bootstrap)
    transactions, since, until = read_ledger(endpoints["SCV_STORE_DSN"], [run_id])
    store = create_engine(endpoints["SCV_STORE_DSN"])
    with store.connect() as conn:
        marks = ledger.read_marks(conn, [run_id])
    store.dispose()
    return Run(env, start, Scope(transactions, since, until, (run_id,)), marks, output)


def _ledger_rows(env: dict[str, str], run_id: int) -> dict[int, dict[str, Any]]:
    store = create_engine(env["SCV_STORE_DSN"])
    with store.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT seq, kind, committed, committed_at, keys, events FROM sim.transactions "
                "WHERE run_id = :r"
            ),
            {"r": run_id},
        )
        found = {r.seq: dict(r._mapping) for r in rows}
    store.dispose()
    return found


def test_every_cause_is_marked_once_committed(run: Run) -> None:
    made = {m.kind for m in run.marks}
    assert MARK_KINDS <= made <= MARK_KINDS | MAY_MARK, Counter(m.kind for m in run.marks)
    assert "sim: marked causes (sim.marks): " in run.output
    txs = _ledger_rows(run.env, run.scope.runs[0])
    for mark in run.marks:
        tx = txs[mark.seq]
        assert tx["committed"], mark
        assert mark.due_at >= tx["committed_at"], mark


def test_the_legacy_rows_show_each_marked_cause(run: Run) -> None:
    erp = create_engine(run.env["SCV_ERP_DSN"])
    wms = create_engine(run.env["SCV_WMS_DSN"])
    txs = _ledger_rows(run.env, run.scope.runs[0])

    def moved_later(mark: ledger.Mark, key: str, entity: str) -> bool:
        """A later promise change (the default traffic's) moved the date again."""
        return any(
            tx["committed"] and seq > mark.seq and tx["keys"].get(key) == entity
            for seq, tx in txs.items()
            if tx["kind"] in ("promise_change", "backdated_promise")
        )

    try:
        with erp.connect() as e, wms.connect() as w:
            for mark in run.marks:
                if mark.kind in ("late_inbound_po", "partial_receipt", "po_line_cancelled"):
                    po, line = mark.entity.rsplit("/", 1)
                    key = {"doco": int(po.rsplit("-", 1)[1]), "lnid": int(Decimal(line) * 1000)}
                    row = e.execute(
                        text(
                            "SELECT pdtrdj, pdpddj, pdlttr, pdnxtr, pduopn FROM proddta.f4311 "
                            "WHERE pddoco = :doco AND pdlnid = :lnid"
                        ),
                        key,
                    ).one()
                    if mark.kind == "late_inbound_po":
                        if not moved_later(mark, "po_id", po):
                            assert row.pdtrdj < row.pdpddj < julian(mark.due_at.date()), mark
                    elif mark.kind == "po_line_cancelled":
                        assert (row.pdlttr.strip(), row.pdnxtr.strip()) == ("980", "999")
                    else:
                        opened = e.execute(
                            text(
                                "SELECT max(pruopn) FROM proddta.f43121 "
                                "WHERE prdoco = :doco AND prlnid = :lnid"
                            ),
                            key,
                        ).scalar_one()
                        assert opened > 0, mark
                elif mark.kind == "late_delivery":
                    if moved_later(mark, "order_id", mark.entity):
                        continue
                    doco = int(mark.entity.rsplit("-", 1)[1])
                    # Open lines only: a cancelled line keeps the promise it had.
                    promised = e.execute(
                        text(
                            "SELECT max(sdrsdj) FROM (SELECT sdrsdj, sdlttr FROM proddta.f4211 "
                            "WHERE sddoco = :d UNION ALL SELECT sdrsdj, sdlttr "
                            "FROM proddta.f42119 WHERE sddoco = :d) x WHERE sdlttr <> '980'"
                        ),
                        {"d": doco},
                    ).scalar_one()
                    committed = txs[mark.seq]["committed_at"]
                    assert promised < julian(committed.date()), mark
                elif mark.kind == "short_shipment":
                    ordered = sum(
                        int(ln["qty_base"])
                        for tx in txs.values()
                        if tx["committed"]
                        for ev in tx["events"]
                        if ev["type"] == "order.placed" and ev["key"] == mark.entity
                        for ln in ev["lines"]
                    )
                    cancelled = sum(
                        int(ev["cancel_qty"])
                        for tx in txs.values()
                        if tx["committed"]
                        for ev in tx["events"]
                        if ev["type"] == "order.cancelled" and ev["key"] == mark.entity
                    )
                    picked = w.execute(
                        text(
                            "SELECT sum(p.Qty) FROM PICKDETAIL p JOIN ORDERS o "
                            "ON o.OrderKey = p.OrderKey WHERE o.ExternOrderKey = :o "
                            "AND o.Status = '9'"
                        ),
                        {"o": mark.entity},
                    ).scalar_one()
                    if ordered:  # an order entered before this run has no placed event here
                        assert int(picked or 0) < ordered - cancelled, mark
    finally:
        erp.dispose()
        wms.dispose()


def test_the_legacy_invariants_hold(run: Run) -> None:
    erp = create_engine(run.env["SCV_ERP_DSN"])
    wms = create_engine(run.env["SCV_WMS_DSN"])
    try:
        with erp.connect() as e, wms.connect() as w:
            assert expected.wms_invariant_violations(w) == []
            assert expected.erp_bucket_mismatches(e) == []
            assert expected.on_hand_mismatches(e, w) == []
    finally:
        erp.dispose()
        wms.dispose()


def test_sim_verify_passes_and_cancelled_po_lines_reach_the_stream(
    run: Run, tmp_path: Path
) -> None:
    pipeline = Pipeline(run.env, run.start, f"vis{uuid.uuid4().hex[:8]}", tmp_path)
    pipeline.start_group()
    assert pipeline.runner("0", until_idle=True).wait(600) == 0, pipeline.log()
    out = pipeline.verify_cli(run.scope)  # `scv sim verify --run ID` itself
    assert "sim verify: PASS" in out, out
    settings = TransformsSettings(
        kafka_bootstrap=run.env["SCV_KAFKA_BOOTSTRAP"], topic_prefix=f"{pipeline.run}."
    )
    cancelled = {
        str(e["line_id"])
        for e in canonical_payloads(settings)
        if e["event_type"] == "po.changed" and e.get("status") == "980"
    }
    marked = {m.entity for m in run.marks if m.kind == "po_line_cancelled"}
    assert marked
    assert marked <= cancelled
