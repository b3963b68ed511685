"""Supplier scorecards: on time, in full, OTIF, lead times, fill rate, windows, late open PO
lines and the OTIF alert, through the hook the view process calls (``views.supply``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from transforms.events import (
    CanonicalEvent,
    GoodsReceived,
    PoChanged,
    PoIssued,
    Quantity,
    ReceiptReversed,
)
from views.alerts import Alert, AlertPolicy, Monitor
from views.demand import DemandPolicy
from views.suppliers import PoLine, Scorecard, SupplierPolicy, line_score, p90, scorecard
from views.supply import Supply

from .events import ITEM, header

TOPIC = "scv.inbound.v1"
D0 = date(2026, 3, 2)  # order date of every line below
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    """Noon (or ``hour``) UTC, ``day`` days after the order date."""
    return NOON + timedelta(days=day, hours=hour - 12)


def issued(
    line: str, qty: int, *, promised: int | None = 5, supplier: str = "S1", when: int = 0
) -> PoIssued:
    po = line.split("/")[0]
    return PoIssued(
        **header("po.issued", at=at(when)),
        po_id=po,
        line_id=line,
        line_no=line.split("/")[1],
        supplier_id=supplier,
        item_id=ITEM,
        quantity=Decimal(qty),
        base_uom="EA",
        original=Quantity(value=Decimal(qty), uom="EA"),
        order_date=D0,
        promised_date=None if promised is None else D0 + timedelta(days=promised),
        status="220",
    )


def changed(line: str, promised: int, *, when: int, status: str = "220") -> PoChanged:
    return PoChanged(
        **header("po.changed", at=at(when)),
        po_id=line.split("/")[0],
        line_id=line,
        changes=(),
        status=status,
        promised_date=D0 + timedelta(days=promised),
    )


def received(
    line: str, qty: int, *, day: int, receipt: str = "1", still_open: int = 0
) -> GoodsReceived:
    return GoodsReceived(
        **header("goods.received", at=at(day)),
        po_id=line.split("/")[0],
        line_id=line,
        receipt_id=f"{line}/{receipt}",
        item_id=ITEM,
        quantity=Decimal(qty),
        base_uom="EA",
        original=Quantity(value=Decimal(qty), uom="EA"),
        received_date=D0 + timedelta(days=day),
        open_quantity=Decimal(still_open),
    )


def reversal(line: str, qty: int, *, day: int, receipt: str = "1") -> ReceiptReversed:
    return ReceiptReversed(
        **header("receipt.reversed", at=at(day)),
        po_id=line.split("/")[0],
        line_id=line,
        receipt_id=f"{line}/{receipt}",
        item_id=ITEM,
        quantity=Decimal(qty),
        base_uom="EA",
        original=Quantity(value=Decimal(qty), uom="EA"),
    )


@dataclass
class Run:
    policy: SupplierPolicy = field(default_factory=SupplierPolicy)
    supply: Supply = field(init=False)
    monitor: Monitor = field(default_factory=lambda: Monitor(AlertPolicy()))
    alerts: list[Alert] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.supply = Supply(self.policy, DemandPolicy())

    def feed(self, *events: CanonicalEvent, partition: int = 0) -> list[Alert]:
        new: list[Alert] = []
        for event in events:
            new.extend(self.supply.apply(event, TOPIC, partition, self.monitor))
        self.alerts.extend(new)
        return new

    def line(self, line_id: str) -> PoLine:
        return self.supply.suppliers.lines[line_id]

    def card(self, supplier: str = "S1", days: int = 90) -> Scorecard:
        return scorecard(
            supplier,
            self.supply.suppliers.supplier_lines(supplier),
            self.supply.suppliers.as_of or NOON,
            timedelta(days=days),
        )


def test_a_line_received_whole_before_its_promise_is_on_time_in_full() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=5), received("P1/1", 10, day=3))
    score = line_score(run.line("P1/1"))
    assert score is not None
    assert (score.on_time, score.in_full, score.lead_days, score.quoted_days) == (
        True,
        True,
        3,
        5,
    )


def test_received_on_the_promised_day_is_on_time_one_day_later_is_not() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=5), received("P1/1", 10, day=5))
    run.feed(issued("P2/1", 10, promised=5), received("P2/1", 10, day=6))
    on_time = line_score(run.line("P1/1"))
    late = line_score(run.line("P2/1"))
    assert on_time is not None
    assert on_time.on_time
    assert late is not None
    assert not late.on_time
    assert late.in_full


def test_partial_receipts_score_the_line_once_at_the_closing_receipt() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=5), received("P1/1", 4, day=2, still_open=6))
    assert not run.line("P1/1").closed
    assert line_score(run.line("P1/1")) is None
    run.feed(received("P1/1", 6, day=7, receipt="2", still_open=0))
    score = line_score(run.line("P1/1"))
    assert score is not None
    # in full (4 + 6), but the closing receipt came after the promise: not OTIF
    assert (score.in_full, score.on_time, score.lead_days) == (True, False, 7)


def test_a_receipt_that_closes_a_line_short_is_not_in_full_and_fills_what_came() -> None:
    run = Run()
    run.feed(issued("P1/1", 10), received("P1/1", 8, day=2, still_open=0))
    run.feed(issued("P2/1", 10), received("P2/1", 12, day=2, still_open=0))
    card = run.card()
    assert card.lines == 2
    assert card.in_full == 1
    assert card.otif == 1
    # over-delivery is capped at the ordered quantity: (8 + 10) / (10 + 10)
    assert card.fill_rate == Decimal("0.9000")


def test_a_reversal_takes_the_score_back_and_a_late_re_receipt_is_late() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=5), received("P1/1", 10, day=2))
    assert run.card().otif == 1
    run.feed(reversal("P1/1", 10, day=3))
    assert not run.line("P1/1").closed
    assert run.card().lines == 0
    run.feed(received("P1/1", 10, day=8, receipt="2"))
    card = run.card()
    assert (card.lines, card.on_time, card.in_full) == (1, 0, 1)


def test_a_receipt_read_after_its_own_reversal_counts_nothing() -> None:
    run = Run()
    run.feed(issued("P1/1", 10), reversal("P1/1", 10, day=3), received("P1/1", 10, day=2))
    assert run.line("P1/1").received == 0
    assert not run.line("P1/1").closed


def test_on_time_is_judged_against_the_promise_in_force_at_the_receipt() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=2), changed("P1/1", 6, when=1))
    run.feed(received("P1/1", 10, day=4))
    # a promise change after the receipt does not rewrite it
    run.feed(changed("P1/1", 1, when=5))
    score = line_score(run.line("P1/1"))
    assert score is not None
    assert score.on_time
    assert score.quoted_days == 2  # quoted: the promise on po.issued


def test_a_line_without_a_promise_counts_for_in_full_but_not_for_on_time() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=None), received("P1/1", 10, day=2))
    run.feed(issued("P2/1", 10, promised=5), received("P2/1", 10, day=2))
    card = run.card()
    assert (card.lines, card.timed, card.in_full, card.otif) == (2, 1, 2, 1)
    assert card.otif_rate == Decimal("1.0000")


def test_a_receipt_read_before_its_po_line_is_scored_once_the_line_arrives() -> None:
    run = Run()
    run.feed(received("P1/1", 10, day=3))
    assert line_score(run.line("P1/1")) is None
    run.feed(issued("P1/1", 10, promised=2))
    score = line_score(run.line("P1/1"))
    assert score is not None
    assert not score.on_time  # the receipt takes the line's promise: day 3 > day 2


def test_windows_count_lines_by_their_closing_receipts_time() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=40), received("P1/1", 10, day=1))
    run.feed(issued("P2/1", 10, promised=40), received("P2/1", 10, day=20))
    run.feed(issued("P3/1", 10, promised=40), received("P3/1", 10, day=29))
    # the receipts' watermark is the single partition's clock: day 29
    assert [run.card(days=d).lines for d in (7, 30, 90)] == [1, 3, 3]


def test_p90_is_the_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([5]) == 5
    assert p90(list(range(1, 11))) == 9  # ceil(0.9 * 10) = 9th
    assert p90(list(range(1, 12))) == 10  # ceil(0.9 * 11) = 10th
    assert p90([3, 1, 2]) == 3


def test_averages_of_lead_and_quoted_times() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=4), received("P1/1", 10, day=2))
    run.feed(issued("P2/1", 10, promised=5), received("P2/1", 10, day=5))
    run.feed(issued("P3/1", 10, promised=6), received("P3/1", 10, day=6))
    card = run.card()
    assert card.avg_lead_days == Decimal("4.33")
    assert card.p90_lead_days == 6
    assert card.avg_quoted_days == Decimal("5.00")


def test_late_inbound_po_is_raised_once_by_the_lines_partition_clock_and_resolved() -> None:
    run = Run(SupplierPolicy(late_grace=timedelta(minutes=30)))
    run.feed(issued("P1/1", 10, promised=2), partition=0)
    run.feed(issued("P9/1", 10, promised=30), partition=1)
    # another partition's receipts run far ahead: they do not make P1/1 late
    run.feed(issued("P8/1", 10, promised=30), received("P8/1", 10, day=9), partition=1)
    assert not [a for a in run.alerts if a.kind == "late_inbound_po"]
    # its own partition's receipt clock passes the end of day 2 + 30 min
    run.feed(issued("P2/1", 10, promised=40), received("P2/1", 10, day=3, receipt="1"))
    run.feed(issued("P3/1", 10, promised=40), received("P3/1", 10, day=4))
    late = [a for a in run.alerts if a.kind == "late_inbound_po"]
    assert [(a.action, a.subject, a.po_id, a.supplier_id) for a in late] == [
        ("raised", "P1/1", "P1", "S1")
    ]
    assert "nothing received" in late[0].message
    assert run.card().late_open_lines == 1
    run.feed(received("P1/1", 10, day=5))
    late = [a for a in run.alerts if a.kind == "late_inbound_po"]
    assert [a.action for a in late] == ["raised", "resolved"]
    assert run.card().late_open_lines == 0


def test_the_grace_is_respected_to_the_minute() -> None:
    run = Run(SupplierPolicy(late_grace=timedelta(minutes=30)))
    run.feed(issued("P1/1", 10, promised=2))
    end_of_day_2 = datetime.combine(D0 + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    run.feed(issued("P2/1", 10, promised=40))
    early = received("P2/1", 10, day=0).model_copy(
        update={"occurred_at": end_of_day_2 + timedelta(minutes=29)}
    )
    run.feed(early)
    assert not run.alerts
    run.feed(issued("P3/1", 10, promised=40))
    due = received("P3/1", 10, day=0).model_copy(
        update={"occurred_at": end_of_day_2 + timedelta(minutes=30)}
    )
    assert [a.kind for a in run.feed(due)] == ["late_inbound_po"]


def test_a_cancelled_line_is_closed_unscored_and_ends_its_late_episode() -> None:
    run = Run(SupplierPolicy(late_grace=timedelta(0)))
    run.feed(issued("P1/1", 10, promised=1))
    run.feed(issued("P2/1", 10, promised=40), received("P2/1", 10, day=3))
    run.feed(changed("P1/1", 1, when=4, status="980"))
    assert [a.action for a in run.alerts if a.kind == "late_inbound_po"] == [
        "raised",
        "resolved",
    ]
    assert run.line("P1/1").closed
    assert line_score(run.line("P1/1")) is None


def test_otif_dropped_is_raised_once_below_the_threshold_and_resolved_when_back() -> None:
    policy = SupplierPolicy(otif_threshold=Decimal("0.8"), otif_min_lines=4)
    run = Run(policy)
    for n in range(1, 4):
        run.feed(issued(f"P{n}/1", 10), received(f"P{n}/1", 10, day=2))
    assert not run.alerts  # three lines: too few to judge
    run.feed(issued("P4/1", 10), received("P4/1", 9, day=2))  # 3 / 4 = 0.75
    run.feed(issued("P5/1", 10), received("P5/1", 9, day=2))  # 3 / 5 = 0.6: still open
    dropped = [a for a in run.alerts if a.kind == "supplier.otif_dropped"]
    assert [(a.action, a.measured) for a in dropped] == [("raised", Decimal("0.7500"))]
    for n in range(6, 9):
        run.feed(issued(f"P{n}/1", 10), received(f"P{n}/1", 10, day=2))  # 6 / 8 = 0.75
    run.feed(issued("P9/1", 10), received("P9/1", 10, day=2))  # 7 / 9 = 0.78
    run.feed(issued("P10/1", 10), received("P10/1", 10, day=2))  # 8 / 10 = 0.8
    dropped = [a for a in run.alerts if a.kind == "supplier.otif_dropped"]
    assert [(a.action, a.measured) for a in dropped] == [
        ("raised", Decimal("0.7500")),
        ("resolved", Decimal("0.8000")),
    ]
    assert dropped[0].supplier_id == "S1"


def test_closed_lines_leave_the_state_after_the_longest_window_open_ones_stay() -> None:
    run = Run(SupplierPolicy(windows=(timedelta(days=7),), otif_window=timedelta(days=7)))
    run.feed(issued("P1/1", 10, promised=400), received("P1/1", 10, day=1))
    run.feed(issued("P2/1", 10, promised=400))
    run.feed(issued("P3/1", 10, promised=400), received("P3/1", 10, day=9))
    assert set(run.supply.suppliers.lines) == {"P2/1", "P3/1"}
    writes = run.supply.writes()
    assert writes.state[("po_line", "P1/1")] is None  # deleted in the batch's transaction


def test_a_line_survives_its_json_round_trip() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, promised=2), received("P1/1", 4, day=1, still_open=6))
    run.feed(reversal("P1/1", 4, day=2), received("P1/1", 10, day=3, receipt="2"))
    line = run.line("P1/1")
    assert PoLine.from_json(line.to_json()) == line


def test_a_restarted_supply_from_its_writes_gives_the_same_answers() -> None:
    run = Run(SupplierPolicy(late_grace=timedelta(0)))
    run.feed(issued("P1/1", 10, promised=1), issued("P2/1", 10, promised=9))
    run.feed(received("P2/1", 8, day=2))
    writes = run.supply.writes()
    again = Supply(run.policy, DemandPolicy())
    for (kind, key), value in writes.state.items():
        if value is not None:
            again.load_row(kind, key, value)
    assert again.suppliers.lines == run.supply.suppliers.lines
    assert again.receipt_clocks.times == run.supply.receipt_clocks.times
    assert again.suppliers.scorecards("S1") == run.supply.suppliers.scorecards("S1")


def test_no_scorecard_before_the_first_receipt_then_one_for_every_supplier() -> None:
    run = Run()
    run.feed(issued("P1/1", 10, supplier="S1"), issued("P2/1", 10, supplier="S2"))
    assert run.supply.writes().scorecards == ()
    run.feed(received("P1/1", 10, day=1))
    cards = run.supply.writes().scorecards
    assert {(c.supplier_id, c.window_days) for c in cards} == {
        (s, d) for s in ("S1", "S2") for d in (7, 30, 90)
    }
    assert {c.supplier_id: c.lines for c in cards if c.window_days == 7} == {"S1": 1, "S2": 0}


def test_a_line_whose_own_receipt_first_passes_its_due_is_raised_and_resolved_at_once() -> None:
    # No other receipt on its partition moved the clock past the end of day 2 + grace: the
    # line's own (late) receipt on day 5 shows it was open and late until then.
    run = Run(SupplierPolicy(late_grace=timedelta(minutes=30)))
    run.feed(issued("P1/1", 10, promised=2))
    run.feed(received("P1/1", 10, day=5))
    late = [a for a in run.alerts if a.kind == "late_inbound_po"]
    assert [(a.action, a.subject) for a in late] == [("raised", "P1/1"), ("resolved", "P1/1")]
    assert "nothing received" in late[0].message
    # received in time: nothing
    other = Run(SupplierPolicy(late_grace=timedelta(minutes=30)))
    other.feed(issued("P1/1", 10, promised=2), received("P1/1", 10, day=2))
    assert not [a for a in other.alerts if a.kind == "late_inbound_po"]


def test_a_line_entered_with_its_promise_already_past_the_clock_is_late_at_entry() -> None:
    run = Run(SupplierPolicy(late_grace=timedelta(minutes=30)))
    run.feed(issued("P2/1", 10, promised=40), received("P2/1", 10, day=6))
    assert [a.subject for a in run.feed(issued("P1/1", 10, promised=2))] == ["P1/1"]
    # entered before the promise passes by the clock: nothing yet
    assert run.feed(issued("P3/1", 10, promised=9)) == []
