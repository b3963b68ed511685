"""Ledger versus stream: is every committed business fact in the canonical topics, once?

The simulator's ledger (``sim.transactions``) lists, per business transaction, the canonical
events it must produce; the pipeline's canonical and quarantine topics (read ``read_committed``)
hold what was produced. Both sides are reduced to *facts*, a per-type identity plus the
essential quantity, so a wrong conversion shows up as one missing and one unexpected fact::

    order.placed        (line_id, base quantity)          one per order line
    order.line_changed  (line_id)
    order.cancelled     (line_id, cancelled base quantity)
    order.allocated     (line_id, allocated quantity)      pick details summed per line
    order.picked        (line_id, picked quantity)         pick details summed per line
    order.packed        (carton SSCC, item_id, quantity)   pick details summed per carton x item
    shipment.dispatched (shipment_id, order_id)
    shipment.delivered  (shipment_id, order_id)            the carrier's delivered scan
    shipment.in_transit, shipment.eta_changed, shipment.delivery_exception
                        (shipment_id, carrier event id)    one per update the carrier posted
    po.issued           (line_id, base quantity)
    po.changed          (po_id)                            one per PO line
    inbound.advised     (line_id, expected quantity)
    goods.received      (line_id, received base quantity)
    receipt.reversed    (line_id, base quantity)
    inventory.adjusted  (site|item, delta)
    item.upserted       (item_id)
    temperature.recorded (site|location, sensor, degrees C)

Per event type: *missing* = expected facts not found; *duplicated* = records carrying an
``event_id`` seen before, plus found copies of a fact beyond the expected count; *unexpected* =
facts the ledger does not list (including facts of rolled-back transactions). Transactions the
ledger marks ``verdict = quarantine`` are expected in the quarantine topic instead, matched by
source row.

The stream side arrives as plain payloads and facts: this module reads no topic and imports no
stage (``transforms.readback`` reads the topics back and names the source row of a quarantine
record by the mappers' own key functions; ``scv sim verify`` hands both to ``check``). The
ledger side keys what it expects with the simulator's own rules (``legacy_sim.scenarios``), on
purpose not with the mappers': an oracle that borrowed the pipeline's key function could not
see that function go wrong.

Scope: facts of the ledger's runs. Canonical events from snapshot reads (the seeded state, not
a business transaction) and from changes committed before the first run started are left out
and counted apart. Event types the ledger lists but no mapper emits yet (``order.backordered``,
``inventory.level_changed``) and derived ones (``shipment.exception``) are reported as not
checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from legacy_sim.errors import NoLedger

if TYPE_CHECKING:
    from sqlalchemy import Engine

Fact = tuple[str, ...]

#: Types the ledger lists that no mapper emits yet (a later issue): reported, not checked.
NOT_EMITTED = frozenset({"order.backordered", "inventory.level_changed"})
#: The carrier's tracking events (``scv carrier serve``), one fact per carrier event id.
CARRIER_SCANS = frozenset(
    {"shipment.in_transit", "shipment.eta_changed", "shipment.delivery_exception"}
)
#: Types whose quantities are summed on the canonical side, per order line (per carton x item
#: for a packing): one event per pick detail, the ledger's one per line (carton x item).
SUMMED_PER_LINE = {"order.allocated": "quantity", "order.picked": "quantity"}
SUMMED = frozenset({*SUMMED_PER_LINE, "order.packed"})


def num(value: Any) -> str:
    """A quantity as a canonical string: ``Decimal("144.00")`` and ``"144"`` are both ``144``."""
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass
class TypeReport:
    expected: int = 0
    found: int = 0
    missing: int = 0
    duplicated: int = 0
    unexpected: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unexpected)


@dataclass
class Report:
    types: dict[str, TypeReport] = field(default_factory=dict)
    not_checked: Counter[str] = field(default_factory=Counter)
    out_of_scope: Counter[str] = field(default_factory=Counter)
    rolled_back: int = 0
    transactions: int = 0

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.types.values())


# -- the ledger side ---------------------------------------------------------------------------


class Ledger(NamedTuple):
    """The ledger's run transactions (``committed``, ``verdict``, ``events``) and the time
    window of the runs (``until`` None: the stream is read to its end)."""

    transactions: list[dict[str, Any]]
    since: datetime | None
    until: datetime | None


def read_ledger(store: str | Engine, runs: Sequence[int] = ()) -> Ledger:
    """The ledger's run transactions, when the first run started and when the last finished.

    ``store`` is the store database (a SQLAlchemy URL, or an engine). ``runs`` scopes it to
    those runs (default: every run since ``scv sim init``); the stream is then scoped to changes
    recorded between their start and their end, so traffic of other runs (another user's
    simulator on a shared stack) is left out rather than reported unexpected.
    """
    import sqlalchemy

    scope = "r.kind = 'run'" + (" AND r.run_id = ANY(:runs)" if runs else "")
    params = {"runs": list(runs)} if runs else {}
    engine = sqlalchemy.create_engine(store) if isinstance(store, str) else store
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text(
                    "SELECT t.committed, t.verdict, t.events FROM sim.transactions t "
                    f"JOIN sim.runs r USING (run_id) WHERE {scope} ORDER BY t.run_id, t.seq"
                ),
                params,
            )
            transactions = [dict(r._mapping) for r in rows]
            since, until, found = conn.execute(
                sqlalchemy.text(
                    "SELECT min(started_at), max(finished_at), count(*) FROM sim.runs r "
                    f"WHERE {scope}"
                ),
                params,
            ).one()
    except sqlalchemy.exc.ProgrammingError as exc:
        raise NoLedger(
            f"no simulator ledger in the store database: run `scv sim init` ({exc.code})"
        ) from None
    finally:
        if isinstance(store, str):
            engine.dispose()
    if runs and found != len(set(runs)):
        raise NoLedger(
            f"the ledger holds {found} of the runs {sorted(set(runs))}: re-initialised since?"
        )
    # MariaDB binlog times have whole seconds: a change of the first second must stay in scope.
    since = since.replace(microsecond=0) if since is not None else None
    # Without a scope the stream is read to its end (a run may still be going).
    return Ledger(transactions, since, until if runs else None)


def _ledger_facts(event: Mapping[str, Any]) -> list[Fact]:
    """The facts one ledger event stands for (empty if the type is not checked)."""
    kind = str(event["type"])
    key = str(event["key"])
    if kind in ("order.placed", "po.issued"):
        return [(str(ln["line_id"]), num(ln["qty_base"])) for ln in event["lines"]]
    if kind == "order.line_changed":
        return [(str(event["line_id"]),)]
    if kind == "order.cancelled":
        return [(str(event["line_id"]), num(event["cancel_qty"]))]
    if kind == "order.allocated":
        return [(str(event["line_id"]), num(event["allocated_qty"]))]
    if kind == "order.picked":
        return [(str(event["line_id"]), num(event["picked_qty"]))]
    if kind == "order.packed":
        carton = str(event["carton_sscc"])
        return [(carton, str(c["item_id"]), num(c["qty"])) for c in event["contents"]]
    if kind in ("shipment.dispatched", "shipment.delivered"):
        return [(key, str(event["order_id"]))]
    if kind in CARRIER_SCANS:
        return [(key, str(event["carrier_event_id"]))]
    if kind == "po.changed":
        return [(key,)] * int(event["lines"])
    if kind == "inbound.advised":
        return [(str(ln["line_id"]), num(ln["expected_qty"])) for ln in event["lines"]]
    if kind == "goods.received":
        return [(str(event["line_id"]), num(event["qty_received_base"]))]
    if kind == "receipt.reversed":
        return [(str(event["line_id"]), num(event["qty"]))]
    if kind == "inventory.adjusted":
        return [(key, num(event["delta_qty"]))]
    if kind == "item.upserted":
        return [(key,)]
    if kind == "temperature.recorded":
        return [(key, str(event["sensor_id"]), num(event["temp_c"]))]
    raise ValueError(f"the ledger lists an event type verify does not know: {kind!r}")


def _quarantine_ident(event: Mapping[str, Any]) -> Fact:
    """Which source row a ledger event expected in quarantine is about."""
    kind = str(event["type"])
    if kind == "order.placed":
        return ("erp.f4211", str(event["key"]))
    if kind == "inventory.adjusted":
        return ("wms.ITRN", str(event["itrn_key"]))
    if kind in ("temperature.recorded", "sensor.reading"):
        return ("wms.ZZ_TEMP_LOG", str(event["serial_key"]))
    raise ValueError(f"the ledger expects a {kind!r} in quarantine: verify cannot match it")


@dataclass
class Expected:
    facts: dict[str, Counter[Fact]] = field(default_factory=dict)
    quarantine: Counter[Fact] = field(default_factory=Counter)
    rolled_back: dict[str, Counter[Fact]] = field(default_factory=dict)
    not_checked: Counter[str] = field(default_factory=Counter)
    transactions: int = 0
    rolled_back_tx: int = 0


def expected_from_ledger(transactions: Iterable[Mapping[str, Any]]) -> Expected:
    """Reduce ledger rows (``committed``, ``verdict``, ``events``) to expected facts."""
    out = Expected()
    for tx in transactions:
        out.transactions += 1
        committed = bool(tx["committed"])
        out.rolled_back_tx += not committed
        for event in tx["events"]:
            kind = str(event["type"])
            if event.get("derived") or kind in NOT_EMITTED:
                if committed:
                    out.not_checked[kind] += 1
                continue
            if event.get("verdict", tx["verdict"]) == "quarantine":
                if committed:
                    out.quarantine[_quarantine_ident(event)] += 1
                continue
            target = out.facts if committed else out.rolled_back
            target.setdefault(kind, Counter()).update(_ledger_facts(event))
    return out


# -- the stream side ---------------------------------------------------------------------------


def canonical_fact(event: Mapping[str, Any]) -> tuple[str, Fact] | None:
    """(event type, fact) of one canonical event payload (JSON), None if no fact applies."""
    kind = str(event["event_type"])
    site = event.get("site_id") or ""
    if kind in ("order.placed", "po.issued", "goods.received", "receipt.reversed"):
        return kind, (str(event["line_id"]), num(event["quantity"]))
    if kind == "order.line_changed":
        return kind, (str(event["line_id"]),)
    if kind == "order.cancelled":
        qty = event.get("cancelled_quantity")
        return kind, (str(event["line_id"]), num(qty) if qty is not None else "?")
    if kind in SUMMED_PER_LINE:
        return kind, (str(event["line_id"]), num(event["quantity"]))
    if kind == "order.packed":
        return kind, (str(event["carton_sscc"]), str(event["item_id"]), num(event["quantity"]))
    if kind in ("shipment.dispatched", "shipment.delivered"):
        return kind, (str(event["shipment_id"]), str(event["order_id"]))
    if kind in CARRIER_SCANS:
        return kind, (str(event["shipment_id"]), str(event["carrier_event_id"]))
    if kind == "po.changed":
        return kind, (str(event["po_id"]),)
    if kind == "inbound.advised":
        return kind, (f"{event['po_id']}/{event['asn_line']}", num(event["quantity"]))
    if kind == "inventory.adjusted":
        return kind, (f"{site}|{event['item_id']}", num(event["delta"]))
    if kind == "inventory.moved":
        return kind, (f"{site}|{event['item_id']}", num(event["quantity"]))
    if kind == "item.upserted":
        return kind, (str(event["item_id"]),)
    if kind == "temperature.recorded":
        where = f"{site}|{event.get('location') or event.get('trailer_id') or ''}"
        return kind, (where, str(event["sensor_id"]), num(event["temperature_c"]))
    return kind, (str(event["event_id"]),)


def _summed(facts: Counter[Fact]) -> Counter[Fact]:
    """Facts ``(*key, quantity)`` with the quantities of one key added up."""
    totals: dict[Fact, Decimal] = {}
    for (*key, qty), n in facts.items():
        totals[tuple(key)] = totals.get(tuple(key), Decimal(0)) + Decimal(qty) * n
    return Counter({(*key, num(total)): 1 for key, total in totals.items()})


@dataclass
class Found:
    facts: dict[str, Counter[Fact]] = field(default_factory=dict)
    duplicate_ids: Counter[str] = field(default_factory=Counter)
    quarantine: Counter[Fact] = field(default_factory=Counter)
    out_of_scope: Counter[str] = field(default_factory=Counter)


def found_from_stream(
    events: Iterable[Mapping[str, Any]],
    quarantined: Iterable[Fact],
    *,
    since: datetime | None,
    until: datetime | None = None,
) -> Found:
    """Reduce canonical event payloads (and quarantined source rows) to found facts.

    ``since``: changes recorded at the source before it belong to an earlier ledger.
    """
    out = Found()
    seen: set[str] = set()
    raw: dict[str, Counter[Fact]] = {}
    for event in events:
        kind = str(event["event_type"])
        if event["source"].get("snapshot"):
            out.out_of_scope[f"{kind} (snapshot read)"] += 1
            continue
        recorded = datetime.fromisoformat(str(event["recorded_at"]))
        if since is not None and recorded < since:
            out.out_of_scope[f"{kind} (before the first run)"] += 1
            continue
        if until is not None and recorded > until:
            out.out_of_scope[f"{kind} (after the ledger was read)"] += 1
            continue
        event_id = str(event["event_id"])
        if event_id in seen:
            out.duplicate_ids[kind] += 1
            continue
        seen.add(event_id)
        fact = canonical_fact(event)
        if fact is not None:
            raw.setdefault(fact[0], Counter())[fact[1]] += 1
    for kind, facts in raw.items():
        out.facts[kind] = _summed(facts) if kind in SUMMED else facts
    out.quarantine.update(quarantined)
    return out


# -- the comparison ----------------------------------------------------------------------------


def check(
    ledger: Ledger,
    events: Iterable[Mapping[str, Any]],
    quarantined: Iterable[Fact],
    *,
    examples: int = 5,
) -> Report:
    """``scv sim verify``: the ledger against canonical event payloads and the source rows of
    quarantine records (both read up to now, ``read_committed``; ``transforms.readback``)."""
    expected = expected_from_ledger(ledger.transactions)
    found = found_from_stream(events, quarantined, since=ledger.since, until=ledger.until)
    return compare(expected, found, examples=examples)


def _example(kind: str, what: str, fact: Fact) -> str:
    return f"{what} {kind} {' '.join(fact)}"


def compare(expected: Expected, found: Found, *, examples: int = 5) -> Report:
    report = Report(
        not_checked=expected.not_checked,
        out_of_scope=found.out_of_scope,
        rolled_back=expected.rolled_back_tx,
        transactions=expected.transactions,
    )
    kinds = set(expected.facts) | set(found.facts) | set(found.duplicate_ids)
    pairs: list[tuple[str, Counter[Fact], Counter[Fact]]] = [
        (k, expected.facts.get(k, Counter()), found.facts.get(k, Counter())) for k in kinds
    ]
    if expected.quarantine or found.quarantine:
        pairs.append(("(quarantine)", expected.quarantine, found.quarantine))
    for kind, want, got in sorted(pairs):
        row = report.types.setdefault(kind, TypeReport())
        row.expected = sum(want.values())
        row.found = sum(got.values()) + found.duplicate_ids.get(kind, 0)
        row.duplicated = found.duplicate_ids.get(kind, 0)
        for fact in sorted(set(want) | set(got)):
            w, g = want.get(fact, 0), got.get(fact, 0)
            if g < w:
                row.missing += w - g
                _note(row, examples, _example(kind, "missing", fact))
            elif g > w and w > 0:
                row.duplicated += g - w
                _note(row, examples, _example(kind, "duplicated", fact))
            elif g > w:
                row.unexpected += g
                rolled = fact in expected.rolled_back.get(kind, Counter())
                what = "unexpected (rolled back)" if rolled else "unexpected"
                _note(row, examples, _example(kind, what, fact))
    return report


def _note(row: TypeReport, limit: int, line: str) -> None:
    if len(row.examples) < limit:
        row.examples.append(line)


def render(report: Report) -> Sequence[str]:
    """The report as text lines (the CLI prints them)."""
    lines = [
        f"{'event type':<22} {'expected':>9} {'found':>9} {'missing':>8} "
        f"{'duplicated':>10} {'unexpected':>10}"
    ]
    for kind, row in sorted(report.types.items()):
        flag = "" if row.ok else "  <--"
        lines.append(
            f"{kind:<22} {row.expected:>9} {row.found:>9} {row.missing:>8} "
            f"{row.duplicated:>10} {row.unexpected:>10}{flag}"
        )
    for _kind, row in sorted(report.types.items()):
        lines.extend(f"  {example}" for example in row.examples)
    lines.append(
        f"ledger: {report.transactions} transactions, {report.rolled_back} rolled back "
        "(their facts must not appear)"
    )
    if report.not_checked:
        listed = ", ".join(f"{k} {n}" for k, n in sorted(report.not_checked.items()))
        lines.append(f"not checked (derived, or no mapper emits them yet): {listed}")
    if report.out_of_scope:
        listed = ", ".join(f"{k} {n}" for k, n in sorted(report.out_of_scope.items()))
        lines.append(f"left out (not business transactions of the ledger): {listed}")
    return lines
