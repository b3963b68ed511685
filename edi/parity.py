"""Parity: the nightly batch's files against the stream's, record by record, each difference
classified. Pure: read files, a manifest and ledger facts come in as values.

**Records.** Both sides' files are read with ``x12read`` and every transaction set becomes one
``Record``, keyed the same way on both sides:

    846  partner x site (N1 WH); a line per item (LIN VN) with QTY17 on hand, QTY33 available,
         QTY02 committed, unit, gtin. Its stamp is DTM 007 (the positions' as-of time)
    856  partner x shipment (BSN02); header: order, customer_po, ship_to, site, shipped, carrier,
         tracking, load; a line per item x lot x carton (LIN VN / LT, MAN GM) with quantity,
         unit, gtin
    945  partner x shipment (W0604); header: order, shipped_date, wms_order, customer_po,
         ship_to, site, carrier, tracking, load, units_shipped; a line per order line, keyed by
         its item (``#2`` for a second line of the same item) with status, ordered, shipped,
         difference, unit, gtin, lots
    944  partner x receipt id (N9 RV); header: receiver, po, received_date, site, item, gtin,
         quantity, unit, lot, units_received

and, on every record, the interchange's sender and receiver ids. Numbers are compared as
numbers (``12.50`` = ``12.5``).

**Scope.** The batch's files are its window by definition (``manifest.since`` to ``at``).
From the stream's outbox, a shipment or receipt document is in scope when the ledger says it
was committed after ``since`` (without a ledger fact, when the date it states is); of the
stream's 846s, the one per partner x site whose as-of time is the latest at or before the
cut-off is compared (the earliest after it if there is none): the others are superseded.

**Differences.** A document on one side only, a line on one side only (for the 846 a missing
line is zero stock), a field whose values differ, a document sent twice by one side, a file
that cannot be read.

**Classification**, in this order:

1. *batch defect*: the manifest records a firing on that record that explains this kind of
   difference: the document being on one side only, anything about one line, or some fields.
   A firing that states by how much it moved a quantity explains the difference only if it
   accounts for all of it; what is left goes through rules 2 and 3.
2. *timing*: the two sides read at different moments and the ledger has a change committed in
   between: a shipment or receipt on the stream's side only that was committed after the
   cut-off; an 846 quantity of a site x item that a transaction changed between the stream's
   as-of time and the batch's reads; a later change (a reversal) to a shipment or receipt
   after its document. The difference names the commit time.
3. *unexplained*: anything else. One unexplained difference fails the parity.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from edi.x12read import ReadInterchange, ReadSet, Seg, element

DOCUMENT_TYPES = ("846", "856", "944", "945")
DOCUMENT = "(document)"
LINE = "(line)"
_846_QUANTITIES = ("QTY17", "QTY33", "QTY02")

Side = Literal["batch", "stream"]
Kind = Literal["missing_in_batch", "missing_in_stream", "value", "duplicate", "unreadable"]
Classification = Literal["timing", "batch_defect", "unexplained"]
CLASSES: tuple[Classification, ...] = ("unexplained", "batch_defect", "timing")


# --- records ---------------------------------------------------------------------------------


LineKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """One transaction set as comparable fields (see the module docstring for the keys)."""

    document: str
    partner: str
    key: str
    header: Mapping[str, str]
    lines: Mapping[LineKey, Mapping[str, str]]
    file: str
    #: The ledger subject of a shipment or receipt document (``shipment:<id>``).
    subject: str | None = None
    #: The moment the document states (shipped, received, positions as of), and how coarse it
    #: is (a date: one day; HHMM: one minute).
    stamp: datetime | None = None
    precision: timedelta = timedelta(0)

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.document, self.partner, self.key)


def normalized(value: str) -> str:
    """A number as a canonical string (``012.50`` → ``12.5``); any other text as it is."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _stamp(date: str, time: str, zone: tzinfo) -> tuple[datetime | None, timedelta]:
    try:
        if len(time) >= 6:
            moment = datetime.strptime(date + time[:6], "%Y%m%d%H%M%S")
            return moment.replace(tzinfo=zone).astimezone(UTC), timedelta(seconds=1)
        if len(time) == 4:
            moment = datetime.strptime(date + time, "%Y%m%d%H%M")
            return moment.replace(tzinfo=zone).astimezone(UTC), timedelta(minutes=1)
        moment = datetime.strptime(date, "%Y%m%d")
        return moment.replace(tzinfo=zone).astimezone(UTC), timedelta(days=1)
    except ValueError:
        return None, timedelta(0)


def records_of(
    interchange: ReadInterchange, *, partner: str, file: str, zone: tzinfo
) -> tuple[list[Record], list[str]]:
    """The records of one interchange, and one line per set it cannot make a record of."""
    found: list[Record] = []
    problems: list[str] = []
    envelope = {"isa_sender": interchange.sender, "isa_receiver": interchange.receiver}
    for n, tset in enumerate(interchange.sets, start=1):
        reader = _READERS.get(tset.code)
        if reader is None:
            continue  # not a document compared here (a 997, ...)
        record = reader(tset, partner, file, zone, interchange.component)
        if record is None or not record.key:
            problems.append(f"{file}: transaction set {n} ({tset.code}) has no document key")
            continue
        found.append(replace(record, header={**envelope, **record.header}))
    return found, problems


def _ids(seg: Seg, start: int) -> dict[str, str]:
    """Product id pairs (qualifier, id) from element ``start`` on: VN item, UK/EN/UP, LT lot."""
    ids: dict[str, str] = {}
    for position in range(start, len(seg) - 1, 2):
        qualifier, value = seg[position], seg[position + 1]
        if qualifier in ("UK", "EN", "UP"):
            ids["gtin"] = value
        elif qualifier == "VN":
            ids["item"] = value
        elif qualifier == "LT":
            ids["lot"] = value
    return ids


def _856(tset: ReadSet, partner: str, file: str, zone: tzinfo, component: str) -> Record | None:
    header = dict.fromkeys(
        ("order", "customer_po", "ship_to", "site", "shipped", "carrier", "tracking", "load"), ""
    )
    key = ""
    stamp: tuple[datetime | None, timedelta] = (None, timedelta(0))
    items: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for seg in tset.segments:
        tag = seg[0]
        if tag == "BSN":
            key = element(seg, 2)
            header["shipped"] = f"{element(seg, 3)} {element(seg, 4)}".strip()
            stamp = _stamp(element(seg, 3), element(seg, 4), zone)
        elif tag == "HL":
            current = {} if element(seg, 3) == "I" else None
            if current is not None:
                items.append(current)
        elif tag == "TD5":
            header["carrier"] = element(seg, 3) or element(seg, 5)
        elif tag == "REF":
            name = {"CN": "tracking", "LO": "load", "VN": "order"}.get(element(seg, 1))
            if name:
                header[name] = element(seg, 2)
        elif tag == "N1":
            name = {"SF": "site", "ST": "ship_to"}.get(element(seg, 1))
            if name:
                header[name] = element(seg, 4)
        elif tag == "PRF":
            header["customer_po"] = element(seg, 1)
        elif current is not None and tag == "LIN":
            current.update(_ids(seg, 2))
        elif current is not None and tag == "SN1":
            current["quantity"] = element(seg, 2)
            current["unit"] = element(seg, 3)
        elif current is not None and tag == "MAN" and element(seg, 1) == "GM":
            current["sscc"] = element(seg, 2)
    lines: dict[LineKey, dict[str, str]] = {}
    for item in items:
        line = (item.get("item", ""), item.get("lot", ""), item.get("sscc", ""))
        found = lines.get(line)
        quantity = item.get("quantity", "0")
        if found is not None:  # the same item x lot x carton twice: one line of their sum
            quantity = str(_decimal(found["quantity"]) + _decimal(quantity))
        lines[line] = {
            "quantity": normalized(quantity),
            "unit": item.get("unit", ""),
            "gtin": item.get("gtin", ""),
        }
    return Record("856", partner, key, header, lines, file, f"shipment:{key}", stamp[0], stamp[1])


def _945(tset: ReadSet, partner: str, file: str, zone: tzinfo, component: str) -> Record | None:
    header = dict.fromkeys(
        (
            "order",
            "shipped_date",
            "wms_order",
            "customer_po",
            "ship_to",
            "site",
            "carrier",
            "tracking",
            "load",
            "units_shipped",
        ),
        "",
    )
    key = ""
    stamp: tuple[datetime | None, timedelta] = (None, timedelta(0))
    lines: dict[LineKey, dict[str, str]] = {}
    current: dict[str, str] | None = None
    lots: list[str] = []
    seen: dict[str, int] = {}

    def close() -> None:
        if current is not None:
            current["lots"] = ",".join(sorted(lots))

    for seg in tset.segments:
        tag = seg[0]
        if tag == "W06":
            key = element(seg, 4)
            header.update(
                order=element(seg, 2),
                shipped_date=element(seg, 3),
                wms_order=element(seg, 5),
                customer_po=element(seg, 6),
            )
            stamp = _stamp(element(seg, 3), "", zone)
        elif tag == "N1":
            name = {"WH": "site", "ST": "ship_to"}.get(element(seg, 1))
            if name:
                header[name] = element(seg, 4)
        elif tag == "N9" and current is not None and element(seg, 1) == "LT":
            lots.append(element(seg, 2))
        elif tag == "N9" and current is None:
            name = {"CN": "tracking", "LO": "load"}.get(element(seg, 1))
            if name:
                header[name] = element(seg, 2)
        elif tag == "W27":
            header["carrier"] = element(seg, 2) or element(seg, 3)
        elif tag == "W12":
            close()
            lots = []
            item = element(seg, 8) if element(seg, 7) == "VN" else ""
            seen[item] = seen.get(item, 0) + 1
            current = {
                "status": element(seg, 1),
                "ordered": normalized(element(seg, 2)),
                "shipped": normalized(element(seg, 3)),
                "difference": normalized(element(seg, 4)),
                "unit": element(seg, 5),
                "gtin": element(seg, 22) if element(seg, 21) in ("UK", "EN", "UP") else "",
            }
            lines[line_key(item, seen[item])] = current
        elif tag == "W03":
            close()
            current = None
            header["units_shipped"] = normalized(element(seg, 1))
    close()
    return Record("945", partner, key, header, lines, file, f"shipment:{key}", stamp[0], stamp[1])


def _944(tset: ReadSet, partner: str, file: str, zone: tzinfo, component: str) -> Record | None:
    header = dict.fromkeys(
        (
            "receiver",
            "po",
            "received_date",
            "site",
            "item",
            "gtin",
            "quantity",
            "unit",
            "lot",
            "units_received",
        ),
        "",
    )
    receipt = ""
    stamp: tuple[datetime | None, timedelta] = (None, timedelta(0))
    for seg in tset.segments:
        tag = seg[0]
        if tag == "W17":
            header.update(
                received_date=element(seg, 2), receiver=element(seg, 3), po=element(seg, 4)
            )
            stamp = _stamp(element(seg, 2), "", zone)
        elif tag == "N1" and element(seg, 1) == "WH":
            header["site"] = element(seg, 4)
        elif tag == "N9" and element(seg, 1) == "RV":
            receipt = element(seg, 2)
        elif tag == "N9" and element(seg, 1) == "LT":
            header["lot"] = element(seg, 2)
        elif tag == "W07":
            ids = _ids(seg, 4)
            header.update(
                quantity=normalized(element(seg, 1)),
                unit=element(seg, 2),
                item=ids.get("item", ""),
                gtin=ids.get("gtin", ""),
            )
        elif tag == "W14":
            header["units_received"] = normalized(element(seg, 1))
    key = receipt or header["receiver"]
    return Record("944", partner, key, header, {}, file, receipt_subject(key), *stamp)


def _846(tset: ReadSet, partner: str, file: str, zone: tzinfo, component: str) -> Record | None:
    site = ""
    stamp: tuple[datetime | None, timedelta] = (None, timedelta(0))
    lines: dict[LineKey, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for seg in tset.segments:
        tag = seg[0]
        if tag == "BIA" and stamp[0] is None:
            stamp = _stamp(element(seg, 4), element(seg, 5), zone)
        elif tag == "DTM" and element(seg, 1) == "007":
            stamp = _stamp(element(seg, 2), element(seg, 3), zone)
        elif tag == "N1" and element(seg, 1) == "WH":
            site = element(seg, 4)
        elif tag == "LIN":
            ids = _ids(seg, 2)
            current = dict.fromkeys(_846_QUANTITIES, "0") | {
                "unit": "",
                "gtin": ids.get("gtin", ""),
            }
            lines[(ids.get("item", ""),)] = current
        elif tag == "QTY" and current is not None:
            name = f"QTY{element(seg, 1)}"
            current[name] = normalized(element(seg, 2))
            current["unit"] = current["unit"] or element(seg, 3)
    return Record("846", partner, site, {}, lines, file, None, *stamp)


_READERS = {"846": _846, "856": _856, "944": _944, "945": _945}


def line_key(item: str, occurrence: int) -> LineKey:
    """A 945 line's key: its item, and its occurrence when the order repeats the item."""
    return (item,) if occurrence == 1 else (item, f"#{occurrence}")


def receipt_subject(receipt_id: str) -> str:
    """``<po>/<line>/<receipt line>/<document>`` → ``receipt:<po>/<document>`` (the ledger's)."""
    parts = receipt_id.split("/")
    return f"receipt:{parts[0]}/{parts[-1]}"


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


# --- the batch's manifest (parsed at the edge) -----------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ManifestRead(_Frozen):
    started: datetime
    finished: datetime


class ManifestDefect(_Frozen):
    enabled: bool
    fired: int
    what: str


class ManifestFiring(_Frozen):
    defect: str
    document: str
    partner: str
    key: str
    line: tuple[str, ...] | None = None
    scope: Literal["presence", "line", "fields"] = "presence"
    fields: tuple[str, ...] | None = None
    effects: dict[str, Decimal] | None = None
    detail: str = ""

    def matches(self, line: LineKey | None, at: str, kind: str) -> bool:
        """Whether it explains a difference of its record at ``line`` / field ``at``.

        ``presence``: the document on one side only; ``line``: anything about its line;
        ``fields``: those fields of its line (no line: of the document's header).
        """
        if self.scope == "presence":
            return at == DOCUMENT and kind in ("missing_in_batch", "missing_in_stream")
        mine = None if self.line is None else tuple(self.line)
        if mine != line or (self.scope == "line" and mine is None):
            return False
        return self.scope == "line" or at in (self.fields or ())

    def whole(self, at: str) -> bool:
        """Whether it explains the field entirely (it states no amount for it)."""
        return self.scope != "fields" or at not in (self.effects or {})


class Manifest(_Frozen):
    """The batch's manifest (``legacy_sim.batch.job``, format ``scv-batch-manifest/1``)."""

    format: Literal["scv-batch-manifest/1"]
    at: datetime
    since: datetime
    started_at: datetime
    finished_at: datetime
    reads: dict[str, ManifestRead] = {}
    observed: dict[str, ManifestRead] = {}
    defects: dict[str, ManifestDefect] = {}
    fired: tuple[ManifestFiring, ...] = ()

    def read_window(self, document: str) -> tuple[datetime, datetime]:
        """When the batch read what a document of this type says."""
        found = self.observed.get(document)
        if found is None:
            return self.started_at, self.finished_at
        return found.started, found.finished


# --- ledger facts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Commit:
    """One committed business transaction of the simulator's ledger.

    ``origins``: the subjects it created (``shipment:<id>``, ``receipt:<po>/<doc>``);
    ``subjects``: the ones it changed (``inventory:<site>|<item>``, a reversed receipt).
    """

    at: datetime
    kind: str
    origins: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()


class Commits:
    """The ledger's commits by subject, in commit order."""

    def __init__(self, commits: Iterable[Commit]) -> None:
        self._origin: dict[str, Commit] = {}
        self._changes: dict[str, list[Commit]] = {}
        for commit in sorted(commits, key=lambda c: c.at):
            for subject in commit.origins:
                self._origin.setdefault(subject, commit)
            for subject in commit.origins | commit.subjects:
                self._changes.setdefault(subject, []).append(commit)
        self._times = {s: [c.at for c in found] for s, found in self._changes.items()}

    def origin(self, subject: str | None) -> Commit | None:
        return None if subject is None else self._origin.get(subject)

    def between(self, subject: str, lo: datetime, hi: datetime) -> list[Commit]:
        """Commits that changed ``subject`` with ``lo < at <= hi``."""
        times = self._times.get(subject, [])
        start, end = bisect.bisect_right(times, lo), bisect.bisect_right(times, hi)
        return self._changes[subject][start:end] if end > start else []


# --- differences -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    document: str
    partner: str
    key: str
    line: LineKey | None
    field: str
    kind: Kind
    batch: str | None
    stream: str | None
    classification: Classification
    reason: str
    defect: str | None = None
    committed_at: datetime | None = None
    files: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "partner": self.partner,
            "key": self.key,
            "line": None if self.line is None else " · ".join(self.line),
            "field": self.field,
            "kind": self.kind,
            "batch": self.batch,
            "stream": self.stream,
            "classification": self.classification,
            "reason": self.reason,
            "defect": self.defect,
            "committed_at": None if self.committed_at is None else _iso(self.committed_at),
            "files": list(self.files),
        }


@dataclass(frozen=True, slots=True)
class _Found:
    """A difference before it is classified."""

    document: str
    partner: str
    key: str
    line: LineKey | None
    field: str
    kind: Kind
    batch: str | None
    stream: str | None
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DocumentCounts:
    batch: int = 0
    stream: int = 0
    matched: int = 0
    records: int = 0


@dataclass(frozen=True, slots=True)
class Parity:
    at: datetime
    since: datetime
    differences: tuple[Difference, ...]
    counts: Mapping[str, DocumentCounts]
    out_of_window: int
    superseded: int
    fired: Mapping[str, int] = field(default_factory=dict)
    explains: Mapping[str, int] = field(default_factory=dict)

    def count(self, classification: Classification) -> int:
        return sum(1 for d in self.differences if d.classification == classification)

    @property
    def unexplained(self) -> int:
        return self.count("unexplained")


def scope_stream(
    records: Sequence[Record], *, at: datetime, since: datetime, commits: Commits
) -> tuple[list[Record], int, int]:
    """The stream's records to compare: (records, out of the window, 846s superseded)."""
    kept: list[Record] = []
    advices: dict[tuple[str, str], list[Record]] = {}
    outside = 0
    for record in records:
        if record.document == "846":
            advices.setdefault((record.partner, record.key), []).append(record)
            continue
        origin = commits.origin(record.subject)
        if origin is not None:
            inside = origin.at > since
        elif record.stamp is not None:
            inside = record.stamp + record.precision > since
        else:
            inside = True
        if inside:
            kept.append(record)
        else:
            outside += 1
    superseded = 0
    for candidates in advices.values():
        stamped = [r for r in candidates if r.stamp is not None]
        before = [r for r in stamped if r.stamp is not None and r.stamp <= at]
        after = [r for r in stamped if r.stamp is not None and r.stamp > at]
        if before:
            chosen = max(before, key=lambda r: (r.stamp, r.file))
        elif after:
            chosen = min(after, key=lambda r: (r.stamp, r.file))
        else:
            chosen = candidates[-1]
        kept.append(chosen)
        superseded += len(candidates) - 1
    return kept, outside, superseded


def compare(
    batch: Sequence[Record],
    stream: Sequence[Record],
    *,
    manifest: Manifest,
    commits: Iterable[Commit],
    problems: Sequence[tuple[Side, str, str]] = (),
) -> Parity:
    """Every difference between the batch's records and the stream's, classified.

    ``stream`` is the whole outbox (scoped here); ``problems`` are files that could not be
    read: (side, file, why), each an unexplained difference.
    """
    index = Commits(commits)
    at, since = manifest.at, manifest.since
    scoped, outside, superseded = scope_stream(stream, at=at, since=since, commits=index)
    by_ident: dict[Side, dict[tuple[str, str, str], list[Record]]] = {"batch": {}, "stream": {}}
    for record in batch:
        by_ident["batch"].setdefault(record.ident, []).append(record)
    for record in scoped:
        by_ident["stream"].setdefault(record.ident, []).append(record)
    found: list[tuple[_Found, Record | None, Record | None]] = []
    counts: dict[str, dict[str, int]] = {
        d: dict.fromkeys(("batch", "stream", "matched", "records"), 0) for d in DOCUMENT_TYPES
    }
    for ident in sorted(set(by_ident["batch"]) | set(by_ident["stream"])):
        document, partner, key = ident
        b_all = by_ident["batch"].get(ident, [])
        s_all = by_ident["stream"].get(ident, [])
        tally = counts.setdefault(
            document, dict.fromkeys(("batch", "stream", "matched", "records"), 0)
        )
        tally["batch"] += len(b_all)
        tally["stream"] += len(s_all)
        b = b_all[0] if b_all else None
        s = s_all[0] if s_all else None
        for side, extra in (("batch", b_all[1:]), ("stream", s_all[1:])):
            for dup in extra:
                found.append(
                    (
                        _Found(document, partner, key, None, DOCUMENT, "duplicate",
                               dup.file if side == "batch" else None,
                               dup.file if side == "stream" else None,
                               (dup.file,)),
                        b, s,
                    )
                )  # fmt: skip
        if b is None or s is None:
            present = b or s
            assert present is not None
            kind: Kind = "missing_in_stream" if s is None else "missing_in_batch"
            found.append(
                (
                    _Found(document, partner, key, None, DOCUMENT, kind,
                           b.file if b else None, s.file if s else None, (present.file,)),
                    b, s,
                )
            )  # fmt: skip
            continue
        tally["matched"] += 1
        tally["records"] += 1 + len(set(b.lines) | set(s.lines))
        found.extend((f, b, s) for f in _record_differences(b, s))
    for side, file, why in problems:
        found.append(
            (
                _Found("?", file.split("/", 1)[0], file, None, DOCUMENT, "unreadable",
                       why if side == "batch" else None, why if side == "stream" else None,
                       (file,)),
                None, None,
            )
        )  # fmt: skip
    classifier = _Classifier(manifest, index)
    differences = tuple(sorted((classifier.classify(f, b, s) for f, b, s in found), key=_order))
    fired: dict[str, int] = {}
    for firing in manifest.fired:
        fired[firing.defect] = fired.get(firing.defect, 0) + 1
    explains: dict[str, int] = {}
    for d in differences:
        if d.defect:
            explains[d.defect] = explains.get(d.defect, 0) + 1
    return Parity(
        at=at,
        since=since,
        differences=differences,
        counts={d: DocumentCounts(**c) for d, c in counts.items()},
        out_of_window=outside,
        superseded=superseded,
        fired=fired,
        explains=explains,
    )


def _order(d: Difference) -> tuple[object, ...]:
    return (CLASSES.index(d.classification), d.document, d.partner, d.key, d.line or (), d.field)


def _describe(fields: Mapping[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in fields.items() if v)


def _record_differences(b: Record, s: Record) -> Iterable[_Found]:
    files = (b.file, s.file)
    base = (b.document, b.partner, b.key)
    for name in sorted(set(b.header) | set(s.header)):
        left, right = b.header.get(name, ""), s.header.get(name, "")
        if left != right:
            yield _Found(*base, None, name, "value", left, right, files)
    zero = dict.fromkeys(_846_QUANTITIES, "0")
    for line in sorted(set(b.lines) | set(s.lines)):
        left_line, right_line = b.lines.get(line), s.lines.get(line)
        if b.document == "846" and (left_line is None or right_line is None):
            # No line: no stock. Compare the quantities only.
            left_q = {k: (left_line or zero)[k] for k in _846_QUANTITIES}
            right_q = {k: (right_line or zero)[k] for k in _846_QUANTITIES}
            for name in _846_QUANTITIES:
                if left_q[name] != right_q[name]:
                    yield _Found(*base, line, name, "value", left_q[name], right_q[name], files)
            continue
        if left_line is None or right_line is None:
            kind: Kind = "missing_in_batch" if left_line is None else "missing_in_stream"
            yield _Found(
                *base,
                line,
                LINE,
                kind,
                None if left_line is None else _describe(left_line),
                None if right_line is None else _describe(right_line),
                files,
            )
            continue
        for name in sorted(set(left_line) | set(right_line)):
            left, right = left_line.get(name, ""), right_line.get(name, "")
            if left != right:
                yield _Found(*base, line, name, "value", left, right, files)


class _Classifier:
    def __init__(self, manifest: Manifest, commits: Commits) -> None:
        self.manifest = manifest
        self.commits = commits
        self.firings: dict[tuple[str, str, str], list[ManifestFiring]] = {}
        for firing in manifest.fired:
            ident = (firing.document, firing.partner, firing.key)
            self.firings.setdefault(ident, []).append(firing)

    def classify(self, f: _Found, b: Record | None, s: Record | None) -> Difference:
        def done(
            classification: Classification,
            reason: str,
            defect: str | None = None,
            committed_at: datetime | None = None,
        ) -> Difference:
            return Difference(
                f.document, f.partner, f.key, f.line, f.field, f.kind, f.batch, f.stream,
                classification, reason, defect, committed_at, f.files,
            )  # fmt: skip

        firings = [
            x
            for x in self.firings.get((f.document, f.partner, f.key), [])
            if x.matches(f.line, f.field, f.kind)
        ]
        note = ""
        if firings and f.kind != "unreadable":
            whole = next((x for x in firings if x.whole(f.field)), None)
            if whole is not None:
                return done("batch_defect", f"{whole.defect}: {whole.detail}", whole.defect)
            effect = sum(((x.effects or {})[f.field] for x in firings), Decimal(0))
            names = ", ".join(sorted({x.defect for x in firings}))
            delta = _delta(f.batch, f.stream)
            if delta is not None and delta == effect:
                details = "; ".join(x.detail for x in firings)
                return done("batch_defect", f"{names}: {details}", firings[0].defect)
            left = "?" if delta is None else normalized(str(delta - effect))
            note = f"{names} account for {normalized(str(effect))} of it, {left} is left; "
        timing = self._timing(f, b, s)
        if timing is not None:
            reason, commit = timing
            return done("timing", note + reason, committed_at=commit)
        return done("unexplained", note + self._unexplained(f, s or b))

    def _timing(self, f: _Found, b: Record | None, s: Record | None) -> tuple[str, datetime] | None:
        at = self.manifest.at
        record = s or b
        if f.kind in ("unreadable", "duplicate") or record is None:
            return None
        if f.document == "846":
            if f.line is None or b is None or s is None:
                return None
            subject = f"inventory:{f.key}|{f.line[0]}"
            read_from, read_to = self.manifest.read_window("846")
            lo, hi = read_from, read_to
            if s.stamp is not None:
                lo, hi = min(lo, s.stamp), max(hi, s.stamp + s.precision)
            changes = self.commits.between(subject, lo, hi)
            if not changes:
                return None
            last = changes[-1]
            when = "after the cut-off" if last.at > at else "before the cut-off"
            stream_at = "?" if s.stamp is None else _iso(s.stamp)
            return (
                f"{len(changes)} change(s) to {f.key}|{f.line[0]} committed between the "
                f"stream's advice ({stream_at}) and the batch's reads ({_iso(read_from)} to "
                f"{_iso(read_to)}); the last, {last.kind}, at {_iso(last.at)}, {when}",
                last.at,
            )
        origin = self.commits.origin(record.subject)
        if f.kind == "missing_in_batch" and f.field == DOCUMENT:
            if origin is not None and origin.at > at:
                return (
                    f"{origin.kind} committed at {_iso(origin.at)}, after the cut-off {_iso(at)}",
                    origin.at,
                )
            return None
        if origin is None or record.subject is None:
            return None
        _, read_to = self.manifest.read_window(f.document)
        later = [c for c in self.commits.between(record.subject, origin.at, read_to)]
        if not later:
            return None
        return (
            f"a later change to {record.subject}: {later[-1].kind} committed at "
            f"{_iso(later[-1].at)}, after the document ({_iso(origin.at)})",
            later[-1].at,
        )

    def _unexplained(self, f: _Found, record: Record | None) -> str:
        if f.kind == "unreadable":
            return f"the file cannot be read: {f.batch or f.stream}"
        if f.kind == "duplicate":
            return "the same document twice on one side"
        origin = self.commits.origin(record.subject if record else None)
        committed = "" if origin is None else f" ({origin.kind} committed at {_iso(origin.at)})"
        if f.kind == "missing_in_stream" and f.field == DOCUMENT:
            return (
                f"the stream has no {f.document} for it{committed}: not emitted, rejected or "
                "not written yet"
            )
        if f.kind == "missing_in_batch" and f.field == DOCUMENT:
            return f"the batch has no {f.document} for it{committed}, and no defect says why"
        return f"no defect of the batch and no change in the ledger explains it{committed}"


def _delta(batch: str | None, stream: str | None) -> Decimal | None:
    try:
        return Decimal(batch or "0") - Decimal(stream or "0")
    except InvalidOperation:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the report's numbers --------------------------------------------------------------------


def summarize(
    parity: Parity,
    manifest: Manifest,
    *,
    generated_at: datetime,
    batch_dir: str,
    stream_dir: str,
) -> dict[str, Any]:
    """The report's content (JSON-ready): totals, per document type, defects, differences."""
    by_class = {c: parity.count(c) for c in CLASSES}
    per_document: list[dict[str, Any]] = []
    for document in DOCUMENT_TYPES:
        c = parity.counts.get(document, DocumentCounts())
        mine = [d for d in parity.differences if d.document == document]
        per_document.append(
            {
                "document": document,
                "batch": c.batch,
                "stream": c.stream,
                "matched": c.matched,
                "records": c.records,
                **{cls: sum(1 for d in mine if d.classification == cls) for cls in CLASSES},
            }
        )
    return {
        "generated_at": _iso(generated_at),
        "at": _iso(parity.at),
        "since": _iso(parity.since),
        "batch_dir": batch_dir,
        "stream_dir": stream_dir,
        "verdict": "fail" if by_class["unexplained"] else "pass",
        "totals": {
            "documents_batch": sum(c.batch for c in parity.counts.values()),
            "documents_stream": sum(c.stream for c in parity.counts.values()),
            "documents_matched": sum(c.matched for c in parity.counts.values()),
            "records_compared": sum(c.records for c in parity.counts.values()),
            "stream_out_of_window": parity.out_of_window,
            "stream_846_superseded": parity.superseded,
            "differences": len(parity.differences),
            **by_class,
        },
        "documents": per_document,
        "defects": [
            {
                "name": name,
                "what": info.what,
                "enabled": info.enabled,
                "fired": parity.fired.get(name, 0),
                "explains": parity.explains.get(name, 0),
            }
            for name, info in manifest.defects.items()
        ],
        "batch": {
            "started_at": _iso(manifest.started_at),
            "finished_at": _iso(manifest.finished_at),
            "reads": {
                name: {"started": _iso(r.started), "finished": _iso(r.finished)}
                for name, r in manifest.reads.items()
            },
        },
        "differences": [d.as_json() for d in parity.differences],
    }
