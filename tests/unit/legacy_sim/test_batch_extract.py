"""The batch's queries against SQLite stand-ins of the two legacy databases, seeded and driven
by the simulator itself (its schemas, seed and workload), so the SQL, the unit conversions and
the window are exercised without a database server.

SQLite is not PostgreSQL or MariaDB (no CHAR padding, loose types): the integration test
``tests/integration/legacy_sim/test_sim_batch.py`` runs the same job against the real ones.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event

from edi.parity import Manifest, compare
from legacy_sim import seed
from legacy_sim.batch import extract
from legacy_sim.batch.defects import DEFECTS
from legacy_sim.batch.documents import Extract, build
from legacy_sim.batch.job import manifest_of
from legacy_sim.batch.partners import load_partners
from legacy_sim.engine import Db, TxPlan, execute
from legacy_sim.profiles import PROFILES
from legacy_sim.rows import Moment
from legacy_sim.scenarios import planner
from legacy_sim.scenarios.context import Context
from legacy_sim.schemas.erp import ErpBase
from legacy_sim.schemas.wms import WmsBase

from ..edi import oracle
from ..edi.paritydata import to_records

PARTNERS = load_partners(Path(__file__).parents[3] / "edi" / "partners")
START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
AT = START + timedelta(seconds=500)
ALL = frozenset(DEFECTS)
NONE: frozenset[str] = frozenset()


@dataclass
class Sim:
    erp: Engine
    wms: Engine
    ctx: Context
    events: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def run(self, count: int, *, first: int = 1, until: str | None = None) -> None:
        """``count`` business transactions, one a second from START; with ``until``, stop
        early after the first one of that kind."""
        with self.erp.connect() as e, self.wms.connect() as w:
            conns: dict[Db, Any] = {"erp": e, "wms": w}
            for seq in range(first, first + count):
                tx = TxPlan(seq=seq, at=Moment(START + timedelta(seconds=seq)), rollback=False)
                planner.plan(self.ctx, tx)
                execute(tx, conns)
                self.events += tx.events
                self.kinds.append(tx.kind)
                if tx.kind == until:
                    return

    def read(
        self, defects: frozenset[str] = ALL, clock: Callable[[], datetime] | None = None
    ) -> Extract:
        return extract.read(
            self.erp,
            self.wms,
            at=AT,
            since=AT - timedelta(hours=24),
            defects=defects,
            clock=clock or (lambda: AT + timedelta(seconds=1)),
        )


def _sim(root: Path) -> Sim:
    root.mkdir(parents=True, exist_ok=True)
    erp = create_engine(f"sqlite:///{root / 'erp.db'}")
    wms = create_engine(f"sqlite:///{root / 'wms.db'}")

    @event.listens_for(erp, "connect")
    def _schema(dbapi: Any, _record: Any) -> None:
        dbapi.execute(f"ATTACH DATABASE '{root / 'proddta.db'}' AS proddta")

    @event.listens_for(wms, "connect")
    def _regexp(dbapi: Any, _record: Any) -> None:
        dbapi.create_function(
            "REGEXP",
            2,
            lambda pattern, value: value is not None and bool(re.search(pattern, value)),
        )

    ErpBase.metadata.create_all(erp)
    WmsBase.metadata.create_all(wms)
    world = seed.build_world(1, PROFILES["demo"])
    with erp.begin() as e, wms.begin() as w:
        seed.write_world(world, e, w, lambda n: None)
    return Sim(erp, wms, Context.build(world, random.Random("run:1")))


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    found = _sim(tmp_path_factory.mktemp("legacy"))
    found.run(300)
    yield found
    found.erp.dispose()
    found.wms.dispose()


def test_every_file_the_batch_writes_parses_with_bots(sim: Sim) -> None:
    for defects in (ALL, NONE):
        batch = build(sim.read(defects), PARTNERS, defects)
        assert {(f.partner, f.document) for f in batch.files} == {
            ("acme-retail", "846"),
            ("acme-retail", "856"),
            ("northwind-depositor", "846"),
            ("northwind-depositor", "944"),
            ("northwind-depositor", "945"),
        }
        for f in batch.files:
            parsed = oracle.parse(f.data)
            assert len(parsed.sets) == f.sets


def test_without_defects_the_846_is_the_book(sim: Sim) -> None:
    found = sim.read(NONE)
    world = sim.ctx.world
    for balance in world.balances.values():
        item = world.items[balance.itm].litm
        book = found.book[(balance.mcu, item)]
        assert (book.on_hand, book.committed) == (
            Decimal(balance.pqoh),
            Decimal(balance.pcom + balance.hcom),
        )
        bins = found.bins[(balance.mcu, item)]
        assert bins.qty == balance.pqoh  # the WMS agrees with the book at rest


def test_every_shipment_and_receipt_the_simulator_made_is_in_the_batch(sim: Sim) -> None:
    found = sim.read(NONE)
    shipped = {e["key"]: e for e in sim.events if e["type"] == "shipment.dispatched"}
    assert {s.shipment_id for s in found.shipments} == set(shipped)
    for s in found.shipments:
        expected = {ln["line_id"].rsplit("/", 1)[1]: ln for ln in shipped[s.shipment_id]["lines"]}
        for line in s.lines:
            assert line.ordered_base == Decimal(expected[line.line_no]["ordered_qty"])
        picked: dict[str, Decimal] = {}
        for pick in s.picks:
            picked[pick.line_no] = picked.get(pick.line_no, Decimal(0)) + pick.qty
        assert picked == {
            k: Decimal(v["shipped_qty"]) for k, v in expected.items() if int(v["shipped_qty"])
        }
    received = [e for e in sim.events if e["type"] == "goods.received"]
    assert sorted((r.item_id, r.quantity, r.lot) for r in found.receipts) == sorted(
        (e["item_id"], Decimal(e["qty_received_base"]), e["lot"]) for e in received
    )


def test_the_defects_account_for_every_difference_they_make(sim: Sim) -> None:
    """The batch with its defects against the same job without them (a perfect stream): every
    difference is a known batch defect, none is left unexplained."""
    found = sim.read(ALL)
    broken = build(found, PARTNERS, ALL)
    fixed = build(sim.read(NONE), PARTNERS, NONE)
    manifest = manifest_of(broken, found, ALL, started=AT, finished=AT)
    parity = compare(
        to_records({f"{f.partner}/{f.name}": f.data for f in broken.files}),
        to_records({f"{f.partner}/{f.name}": f.data for f in fixed.files}),
        manifest=Manifest.model_validate(manifest),
        commits=(),
    )
    assert parity.differences
    assert {d.classification for d in parity.differences} == {"batch_defect"}
    assert {"stage_lanes_excluded", "ordered_in_order_unit"} <= set(parity.explains)


@pytest.mark.parametrize("defects", [ALL, NONE], ids=["defects", "no-defects"])
def test_a_shipment_committed_after_the_query_started_is_missed(
    tmp_path: Path, defects: frozenset[str]
) -> None:
    """The control re-query finds a shipment stamped before the cut-off that committed while
    the job ran: with the defect it is recorded and not sent, without it it is sent."""
    sim = _sim(tmp_path)
    sim.run(120)
    ticks = 0

    def clock() -> datetime:
        nonlocal ticks
        ticks += 1
        if ticks == 9:  # the receipts' read starts: the WMS orders were read already
            sim.run(49, first=451, until="ship")  # stamped before the cut-off (500 s)
        return AT + timedelta(seconds=1)

    found = sim.read(defects, clock)
    assert ticks > 9
    assert sim.kinds[-1] == "ship"
    late_id = [e["key"] for e in sim.events if e["type"] == "shipment.dispatched"][-1]
    batch = build(found, PARTNERS, defects)
    sent = {s.shipment_id for s in found.shipments}
    if defects:
        assert late_id not in sent
        assert [s.shipment_id for s in found.late_shipments] == [late_id]
        assert {(f.defect, f.key) for f in batch.firings if f.key == late_id} == {
            ("missed_late_commit", late_id)
        }
    else:
        assert late_id in sent
        assert found.late_shipments == ()
