"""Supplier scorecards and late inbound PO lines, from the inbound canonical events: pure.

A PO line (``po.issued``) is tracked through its ``po.changed`` (promised date, status),
``goods.received`` and ``receipt.reversed`` events. Definitions (the README states them too):

- **received**: the sum of the line's receipts not reversed (base unit). A reversal removes
  its receipt (matched by ``receipt_id``); a receipt read after its own reversal is ignored.
- **closed**: a receipt not reversed closed the line (its ``open_quantity`` is 0: JDE closes
  a line short that way) or received >= ordered. A reversal of the closing receipt opens the
  line again (as the ERP does: status back to 280, the quantity expected again) and takes
  back its score until a receipt closes it again. A line the ERP closes without a known
  receipt (status 980 cancelled or 999 closed, or a line read by a snapshot already at
  400 received) is closed **unscored**: there is no receipt to judge.
- **scored line**: a closed line with a known ``po.issued`` and at least one receipt. Its
  *closing receipt* is the latest of its receipts (by event time).
- **on time**: closing receipt's received date (ERP ``prrcdj``, the branch's local date)
  <= the promised date in force when that receipt was read (the latest ``po.changed`` before
  it; a change after the receipt does not rewrite it). Early counts as on time. A line
  without a promised date has no on-time verdict and is left out of on time and OTIF.
- **in full**: received >= ordered (the ``po.issued`` quantity; over-delivery is in full).
- **OTIF**: on time and in full.
- **lead time** (days): closing received date - order date; **quoted lead time**: the
  promised date on ``po.issued`` (what the supplier quoted) - order date.
- **fill rate**: sum(min(received, ordered)) / sum(ordered) over the scored lines.
- **window** of W days as of T: the scored lines whose closing receipt's event time is after
  T - W. T is the receipts' low watermark (``views.clocks``): a window starts by the
  conservative clock, and every receipt read counts at once.
- **receipt clock**: per inbound partition, the latest event time of a receipt or reversal
  read on it. Receipts come from one ERP table (``f43121``) and reach a partition in commit
  order; PO lines and ASNs come from other raw topics and may be read ahead of them, so
  they do not move the clock that decides "nothing was received by then".
- **late open line**: a line not closed whose promised day is over: its partition's receipt
  clock >= the end of the promised date in the branch's time zone + ``late_grace``. That raises
  ``late_inbound_po`` (once per episode, subject the line id; the message says what was
  received so far), resolved when a receipt or the ERP closes the line. A receipt of the
  line is checked too, before it applies: at its time the line was still open, so one past
  the due raises the episode (resolved at once if it closes the line) even when no earlier
  receipt on the partition moved the clock far enough; and so is a line entered or changed
  (``po.issued``, ``po.changed``) against the partition's clock as it stands: a PO keyed
  with a promise already past is late from its entry.
- ``supplier.otif_dropped``: the supplier's OTIF over ``otif_window`` is below
  ``otif_threshold`` with at least ``otif_min_lines`` lines with a verdict; resolved when it is
  back at or above the threshold, or when too few lines are left in the window to judge.

What is kept (state is bounded): every line not closed (the ERP's open PO book), and closed
lines while their closing receipt (or, unscored, their last event) is within the longest
window of the watermark. Older ones are pruned when the watermark enters a new hour, as
is every line known only from receipts (no ``po.issued``) untouched for that long.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from transforms.events import (
    CanonicalEvent,
    GoodsReceived,
    PoChanged,
    PoIssued,
    ReceiptReversed,
)
from views.alerts import Alert, Monitor

ZERO = Decimal(0)
#: ERP (JDE) line statuses that close a PO line without a receipt the views saw.
CLOSED_STATUSES = frozenset({"400", "980", "999"})
RATE_PLACES = Decimal("0.0001")
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SupplierPolicy:
    windows: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=30), timedelta(days=90))
    otif_window: timedelta = timedelta(days=30)
    otif_threshold: Decimal = Decimal("0.9")
    otif_min_lines: int = 5
    late_grace: timedelta = timedelta(hours=1)

    @property
    def retention(self) -> timedelta:
        return max((*self.windows, self.otif_window))


def _offset(text: str | None) -> timezone:
    if not text:
        return UTC
    sign = -1 if text.startswith("-") else 1
    hours, minutes = text[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def local_date(moment: datetime, offset: str | None) -> date:
    return moment.astimezone(_offset(offset)).date()


def day_end(day: date, offset: str | None) -> datetime:
    """The instant the branch's ``day`` is over (its next local midnight)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=_offset(offset))


@dataclass(slots=True)
class Receipt:
    quantity: Decimal
    received_on: date
    at: datetime
    #: The promised date in force when the receipt was read (None: not known then).
    promised: date | None
    #: The receipt closed the line (``open_quantity`` 0).
    closes: bool


@dataclass(slots=True)
class PoLine:
    line_id: str
    po_id: str
    #: The partition its events travel on (``topic|partition``): its clock judges lateness.
    where: str = ""
    supplier_id: str | None = None
    item_id: str | None = None
    site_id: str | None = None
    #: None until ``po.issued`` is read (a receipt read first opens the line as a stub).
    ordered: Decimal | None = None
    order_date: date | None = None
    quoted: date | None = None
    promised: date | None = None
    tz_offset: str | None = None
    status: str | None = None
    touched: datetime | None = None
    late_since: datetime | None = None
    receipts: dict[str, Receipt] = field(default_factory=dict)
    reversed: list[str] = field(default_factory=list)

    @property
    def received(self) -> Decimal:
        return sum((r.quantity for r in self.receipts.values()), ZERO)

    @property
    def closed_by_receipt(self) -> bool:
        if not self.receipts:
            return False
        if any(r.closes for r in self.receipts.values()):
            return True
        return self.ordered is not None and self.received >= self.ordered

    @property
    def closed(self) -> bool:
        if self.closed_by_receipt:
            return True
        return not self.receipts and self.status in CLOSED_STATUSES

    def closing(self) -> Receipt | None:
        if not self.closed_by_receipt:
            return None
        return max(self.receipts.values(), key=lambda r: (r.at, r.received_on))

    def due(self, grace: timedelta) -> datetime | None:
        """When the line is late if still open (None: no promised date)."""
        if self.promised is None:
            return None
        return day_end(self.promised, self.tz_offset) + grace

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(asdict(self))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PoLine:
        line = cls(line_id=data["line_id"], po_id=data["po_id"])
        line.where = data.get("where", "")
        line.supplier_id = data.get("supplier_id")
        line.item_id = data.get("item_id")
        line.site_id = data.get("site_id")
        line.ordered = _dec(data.get("ordered"))
        line.order_date = _date(data.get("order_date"))
        line.quoted = _date(data.get("quoted"))
        line.promised = _date(data.get("promised"))
        line.tz_offset = data.get("tz_offset")
        line.status = data.get("status")
        line.touched = _time(data.get("touched"))
        line.late_since = _time(data.get("late_since"))
        line.receipts = {
            rid: Receipt(
                quantity=Decimal(r["quantity"]),
                received_on=date.fromisoformat(r["received_on"]),
                at=datetime.fromisoformat(r["at"]),
                promised=_date(r.get("promised")),
                closes=bool(r["closes"]),
            )
            for rid, r in data.get("receipts", {}).items()
        }
        line.reversed = list(data.get("reversed", []))
        return line


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# --- the arithmetic ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineScore:
    supplier_id: str
    closed_at: datetime
    #: None: the line has no promised date, no on-time verdict.
    on_time: bool | None
    in_full: bool
    ordered: Decimal
    received: Decimal
    lead_days: int | None
    quoted_days: int | None


def line_score(line: PoLine) -> LineScore | None:
    """The verdict on a scored line; None for a line that is not (yet) scored."""
    closing = line.closing()
    if closing is None or line.ordered is None or line.supplier_id is None:
        return None
    received = line.received
    on_time = None if closing.promised is None else closing.received_on <= closing.promised
    lead = None if line.order_date is None else (closing.received_on - line.order_date).days
    quoted = (
        None
        if line.order_date is None or line.quoted is None
        else (line.quoted - line.order_date).days
    )
    return LineScore(
        supplier_id=line.supplier_id,
        closed_at=closing.at,
        on_time=on_time,
        in_full=received >= line.ordered,
        ordered=line.ordered,
        received=received,
        lead_days=lead,
        quoted_days=quoted,
    )


def p90(values: Iterable[int]) -> int | None:
    """Nearest-rank 90th percentile: the ceil(0.9 n)-th smallest value."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, ROUND_HALF_EVEN)


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Scorecard:
    supplier_id: str
    window_days: int
    as_of: datetime
    lines: int
    #: Lines with an on-time verdict (a promised date): the on-time and OTIF denominator.
    timed: int
    on_time: int
    in_full: int
    otif: int
    ordered: Decimal
    filled: Decimal
    avg_lead_days: Decimal | None
    p90_lead_days: int | None
    avg_quoted_days: Decimal | None
    late_open_lines: int

    @property
    def on_time_rate(self) -> Decimal | None:
        return _ratio(self.on_time, self.timed)

    @property
    def in_full_rate(self) -> Decimal | None:
        return _ratio(self.in_full, self.lines)

    @property
    def otif_rate(self) -> Decimal | None:
        return _ratio(self.otif, self.timed)

    @property
    def fill_rate(self) -> Decimal | None:
        return _ratio(self.filled, self.ordered)

    def to_json(self) -> dict[str, Any]:
        data = _jsonable(asdict(self))
        for name in ("on_time_rate", "in_full_rate", "otif_rate", "fill_rate"):
            value = getattr(self, name)
            data[name] = None if value is None else str(value)
        return dict(data)


def scorecard(
    supplier_id: str,
    lines: Iterable[PoLine],
    as_of: datetime,
    window: timedelta,
) -> Scorecard:
    """The scorecard of ``supplier_id``'s ``lines`` over ``window`` as of ``as_of``."""
    start = as_of - window if as_of - _EARLIEST > window else _EARLIEST
    scores: list[LineScore] = []
    late_open = 0
    for line in lines:
        if line.supplier_id != supplier_id:
            continue
        if not line.closed and line.late_since is not None:
            late_open += 1
        score = line_score(line)
        if score is not None and score.closed_at > start:
            scores.append(score)
    timed = [s for s in scores if s.on_time is not None]
    leads = [s.lead_days for s in scores if s.lead_days is not None]
    quoted = [s.quoted_days for s in scores if s.quoted_days is not None]
    return Scorecard(
        supplier_id=supplier_id,
        window_days=window.days,
        as_of=as_of,
        lines=len(scores),
        timed=len(timed),
        on_time=sum(1 for s in timed if s.on_time),
        in_full=sum(1 for s in scores if s.in_full),
        otif=sum(1 for s in timed if s.on_time and s.in_full),
        ordered=sum((s.ordered for s in scores), ZERO),
        filled=sum((min(s.received, s.ordered) for s in scores), ZERO),
        avg_lead_days=_mean(leads),
        p90_lead_days=p90(leads),
        avg_quoted_days=_mean(quoted),
        late_open_lines=late_open,
    )


# --- the tracker -------------------------------------------------------------------------------


INBOUND = (PoIssued, PoChanged, GoodsReceived, ReceiptReversed)


class SupplierBook:
    """PO lines by id; ``dirty_*`` are what the store writes in the batch's transaction."""

    def __init__(self, policy: SupplierPolicy) -> None:
        self.policy = policy
        self.lines: dict[str, PoLine] = {}
        self.by_supplier: dict[str, set[str]] = {}
        #: Lines not closed per partition (the late check scans these).
        self.open_by_where: dict[str, set[str]] = {}
        self.dirty_lines: set[str] = set()
        self.dirty_suppliers: set[str] = set()
        #: The hour (watermark) of the last roll: windows moved, old lines pruned.
        self.rolled: datetime | None = None
        self.meta_dirty = False
        self.as_of: datetime | None = None

    # -- persistence ----------------------------------------------------------------------------

    def load_line(self, data: Mapping[str, Any]) -> None:
        self._index(PoLine.from_json(data))

    def load_meta(self, data: Mapping[str, Any]) -> None:
        self.rolled = _time(data.get("rolled"))
        self.as_of = _time(data.get("as_of"))

    def meta(self) -> dict[str, Any]:
        return {
            "rolled": None if self.rolled is None else self.rolled.isoformat(),
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
        }

    def _index(self, line: PoLine) -> None:
        self.lines[line.line_id] = line
        if line.supplier_id is not None:
            self.by_supplier.setdefault(line.supplier_id, set()).add(line.line_id)
        opened = self.open_by_where.setdefault(line.where, set())
        if line.closed:
            opened.discard(line.line_id)
        else:
            opened.add(line.line_id)

    def _drop(self, line_id: str) -> None:
        line = self.lines.pop(line_id)
        if line.supplier_id is not None:
            self.by_supplier.get(line.supplier_id, set()).discard(line_id)
        self.open_by_where.get(line.where, set()).discard(line_id)
        self.dirty_lines.add(line_id)

    def supplier_lines(self, supplier_id: str) -> list[PoLine]:
        return [self.lines[i] for i in sorted(self.by_supplier.get(supplier_id, ()))]

    def scorecards(self, supplier_id: str) -> list[Scorecard]:
        """Every window's scorecard; none before the first receipt gave the windows a clock
        (the first one marks every supplier for a scorecard: ``_roll``)."""
        if self.as_of is None:
            return []
        lines = self.supplier_lines(supplier_id)
        return [scorecard(supplier_id, lines, self.as_of, w) for w in self.policy.windows]

    # -- events ---------------------------------------------------------------------------------

    def apply(
        self,
        event: CanonicalEvent,
        where: str,
        clocks: tuple[datetime | None, datetime | None],
        watermark: datetime | None,
        monitor: Monitor,
    ) -> list[Alert]:
        """One inbound event read on partition ``where``, whose receipt clock moved from
        ``clocks[0]`` to ``clocks[1]``; ``watermark`` is the receipts' low watermark."""
        alerts: list[Alert] = []
        if watermark is not None and (self.as_of is None or watermark > self.as_of):
            self.as_of = watermark
            self.meta_dirty = True
        if isinstance(event, INBOUND):
            line = self._line(event, where)
            if isinstance(event, GoodsReceived) and clocks[1] is not None and not line.closed:
                # The receipt shows the line still open at its time: past the due, it was
                # late until now, though no earlier receipt on its partition moved the clock
                # far enough to say so (raised here, resolved below if this closes it).
                alerts.extend(self._late_line(line, clocks[1], event, monitor))
            previous = line.supplier_id
            self._update(line, event)
            if previous is not None and previous != line.supplier_id:
                self.by_supplier.get(previous, set()).discard(line.line_id)
                self.dirty_suppliers.add(previous)
            self._index(line)
            self.dirty_lines.add(line.line_id)
            # Every receipt of the partition up to its clock has been read (one ERP table,
            # commit order): a line open now whose due the clock passed was open then. A PO
            # keyed late (promised days ago) is late from its entry on.
            entered = isinstance(event, PoIssued | PoChanged)
            if entered and clocks[1] is not None and not line.closed:
                alerts.extend(self._late_line(line, clocks[1], event, monitor))
            if line.closed and monitor.is_open("late_inbound_po", line.line_id):
                alerts.append(self._late_resolved(line, event, monitor))
                line.late_since = None
            if line.supplier_id is not None:
                self.dirty_suppliers.add(line.supplier_id)
                if isinstance(event, GoodsReceived | ReceiptReversed):
                    alerts.extend(self._otif(line.supplier_id, event, monitor))
        before, clock = clocks
        if clock is not None and (
            before is None
            or clock.replace(second=0, microsecond=0) > before.replace(second=0, microsecond=0)
        ):
            alerts.extend(self._late_check(where, clock, event, monitor))
        if watermark is not None:
            alerts.extend(self._roll(watermark, event, monitor))
        return alerts

    def _line(
        self, event: PoIssued | PoChanged | GoodsReceived | ReceiptReversed, where: str
    ) -> PoLine:
        line = self.lines.get(event.line_id)
        if line is None:
            line = PoLine(line_id=event.line_id, po_id=event.po_id, where=where)
        elif line.where != where:
            self.open_by_where.get(line.where, set()).discard(line.line_id)
            line.where = where
        return line

    def _update(
        self, line: PoLine, event: PoIssued | PoChanged | GoodsReceived | ReceiptReversed
    ) -> None:
        line.touched = (
            event.occurred_at if line.touched is None else max(line.touched, event.occurred_at)
        )
        line.tz_offset = event.occurred_tz_offset or line.tz_offset
        line.site_id = event.site_id or line.site_id
        if isinstance(event, PoIssued):
            line.supplier_id = event.supplier_id
            line.item_id = event.item_id
            line.ordered = event.quantity
            line.order_date = event.order_date
            line.quoted = event.promised_date
            if line.promised is None or not line.receipts:
                line.promised = event.promised_date
            line.status = event.status
            for receipt in line.receipts.values():
                if receipt.promised is None:  # read before the PO line: its promise now
                    receipt.promised = event.promised_date
        elif isinstance(event, PoChanged):
            line.promised = event.promised_date
            line.status = event.status
        elif isinstance(event, GoodsReceived):
            if event.receipt_id in line.reversed:
                return  # read after its own reversal
            line.item_id = line.item_id or event.item_id
            line.receipts[event.receipt_id] = Receipt(
                quantity=event.quantity,
                received_on=event.received_date
                or local_date(event.occurred_at, event.occurred_tz_offset),
                at=event.occurred_at,
                promised=line.promised,
                closes=event.open_quantity is not None and event.open_quantity <= 0,
            )
        else:
            line.receipts.pop(event.receipt_id, None)
            if event.receipt_id not in line.reversed:
                line.reversed.append(event.receipt_id)

    # -- alerts ---------------------------------------------------------------------------------

    def _ids(self, line: PoLine) -> dict[str, Any]:
        return {
            "po_id": line.po_id,
            "supplier_id": line.supplier_id,
            "site_id": line.site_id,
            "item_id": line.item_id,
        }

    def _late_resolved(self, line: PoLine, cause: CanonicalEvent, monitor: Monitor) -> Alert:
        how = (
            f"received {line.received}"
            if line.closed_by_receipt
            else f"closed (status {line.status})"
        )
        return monitor.episode(
            "late_inbound_po",
            "resolved",
            "info",
            line.line_id,
            cause,
            f"PO line {line.line_id} {how}",
            measured=line.received,
            threshold=line.ordered,
            **self._ids(line),
        )

    def _late_check(
        self, where: str, clock: datetime, cause: CanonicalEvent, monitor: Monitor
    ) -> list[Alert]:
        """Open lines of partition ``where`` whose promised day is over by its clock (scanned
        when the partition's clock enters a new minute: the persisted clocks decide, so a
        restart checks at the same events)."""
        alerts = []
        for line_id in sorted(self.open_by_where.get(where, ())):
            alerts.extend(self._late_line(self.lines[line_id], clock, cause, monitor))
        return alerts

    def _late_line(
        self, line: PoLine, clock: datetime, cause: CanonicalEvent, monitor: Monitor
    ) -> list[Alert]:
        """``late_inbound_po`` raised for ``line`` if its promised day is over by ``clock``."""
        line_id = line.line_id
        due = line.due(self.policy.late_grace)
        if (
            line.ordered is None
            or line.late_since is not None
            or due is None
            or clock < due
            or monitor.is_open("late_inbound_po", line_id)
        ):
            return []
        line.late_since = clock
        self.dirty_lines.add(line_id)
        if line.supplier_id is not None:
            self.dirty_suppliers.add(line.supplier_id)
        return [
            monitor.episode(
                "late_inbound_po",
                "raised",
                "warning",
                line_id,
                cause,
                f"PO line {line_id}: promised {line.promised}, "
                + (
                    "nothing received"
                    if not line.receipts
                    else f"{line.received} of {line.ordered} received"
                ),
                measured=line.received,
                threshold=line.ordered,
                **self._ids(line),
            )
        ]

    def _otif(self, supplier_id: str, cause: CanonicalEvent, monitor: Monitor) -> list[Alert]:
        policy = self.policy
        card = scorecard(
            supplier_id,
            self.supplier_lines(supplier_id),
            self.as_of or cause.occurred_at,
            policy.otif_window,
        )
        rate = card.otif_rate
        is_open = monitor.is_open("supplier.otif_dropped", supplier_id)
        ids = {"supplier_id": supplier_id, "threshold": policy.otif_threshold}
        days = policy.otif_window.days
        if card.timed < policy.otif_min_lines or rate is None:
            if not is_open:
                return []
            return [
                monitor.episode(
                    "supplier.otif_dropped",
                    "resolved",
                    "info",
                    supplier_id,
                    cause,
                    f"only {card.timed} line(s) left in the {days}-day window: too few to judge",
                    measured=rate,
                    **ids,
                )
            ]
        if not is_open and rate < policy.otif_threshold:
            return [
                monitor.episode(
                    "supplier.otif_dropped",
                    "raised",
                    "warning",
                    supplier_id,
                    cause,
                    f"OTIF {rate} over {days} days ({card.otif} of {card.timed} lines) is below "
                    f"{policy.otif_threshold}",
                    measured=rate,
                    **ids,
                )
            ]
        if is_open and rate >= policy.otif_threshold:
            return [
                monitor.episode(
                    "supplier.otif_dropped",
                    "resolved",
                    "info",
                    supplier_id,
                    cause,
                    f"OTIF {rate} over {days} days ({card.otif} of {card.timed} lines) is back",
                    measured=rate,
                    **ids,
                )
            ]
        return []

    def _roll(self, watermark: datetime, cause: CanonicalEvent, monitor: Monitor) -> list[Alert]:
        """When the watermark enters a new hour: prune, and judge every supplier's rolling
        OTIF again (lines leave the window with time, not only with receipts)."""
        hour = watermark.replace(minute=0, second=0, microsecond=0)
        if self.rolled is not None and hour <= self.rolled:
            return []
        self.rolled = hour
        self.prune(watermark)
        alerts: list[Alert] = []
        for supplier_id in sorted(self.by_supplier):
            self.dirty_suppliers.add(supplier_id)
            alerts.extend(self._otif(supplier_id, cause, monitor))
        return alerts

    def prune(self, watermark: datetime) -> list[str]:
        """Drop closed lines (and receipt-only stubs) older than the longest window."""
        horizon = watermark - self.policy.retention
        gone = []
        for line_id, line in list(self.lines.items()):
            if line.closed or line.ordered is None:
                closing = line.closing()
                last = closing.at if closing is not None else line.touched
                if last is not None and last <= horizon:
                    gone.append(line_id)
        for line_id in gone:
            self._drop(line_id)
        return gone

    def take_dirty(self) -> tuple[dict[str, dict[str, Any] | None], list[Scorecard]]:
        lines = {
            i: (self.lines[i].to_json() if i in self.lines else None) for i in self.dirty_lines
        }
        cards = [c for s in sorted(self.dirty_suppliers) for c in self.scorecards(s)]
        self.dirty_lines, self.dirty_suppliers = set(), set()
        return lines, cards


def scorecards_of(
    lines: Iterable[PoLine], as_of: datetime, windows: Iterable[timedelta]
) -> Iterator[Scorecard]:
    """Every supplier's scorecards over ``lines`` (the CLI and the tests' recomputation)."""
    pool = list(lines)
    for supplier_id in sorted({ln.supplier_id for ln in pool if ln.supplier_id is not None}):
        for window in windows:
            yield scorecard(supplier_id, pool, as_of, window)
