"""What a mapper is written with: its declaration, and the helpers the mappers share.

A mapper is one pure function per captured source table. It turns one ``ChangeEvent`` into
zero or more outputs: canonical events and reference state updates (``StateUpdate``, e.g. an
item's UoM conversions), reading reference data only through the read-only ``Reference`` it is
given. It does no I/O and reads no clock or global, so the same change always maps to the same
events.

    @mapper("erp", "f4211", columns=F4211_COLUMNS)
    def sales_order_lines(change: ChangeEvent, ref: Reference) -> Iterator[Output]: ...

``columns`` is the table's column set as the mapper was written against it: a row carrying a
column outside it with a non-null value is schema drift and goes to quarantine; a new column
that is null (a new nullable column) is tolerated. ``@mapper`` only declares: the mappers in
use are the ones ``transforms.registry.MAPPERS`` lists.

The helpers: event headers and ids, business-change detection, site times, quantities in base
units, the site of a WMS location.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from transforms import quirks
from transforms.envelope import ChangeEvent, Op, Row
from transforms.errors import MissingReference
from transforms.events import CanonicalEvent, FieldChange, Quantity, SourceRef, event_id_for
from transforms.reference import Reference, StateUpdate

Output = CanonicalEvent | StateUpdate
MapperFn = Callable[[ChangeEvent, Reference], Iterable[Output]]


@dataclass(frozen=True, slots=True)
class Mapper:
    system: str
    table: str
    columns: frozenset[str]
    fn: MapperFn
    #: Reference tables are mapped first within a batch (they feed other mappers' lookups).
    reference: bool = False
    #: Operations whose changes map to nothing, whatever their rows hold (the balance updates
    #: that documents already report): skipped before their row images are decoded, which is
    #: most of a message's cost. Their rows are discarded whole, so the column check has
    #: nothing to protect in them; the table's other operations still show schema drift.
    ignored_ops: frozenset[Op] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def __call__(self, change: ChangeEvent, ref: Reference) -> Iterable[Output]:
        return self.fn(change, ref)


def mapper(
    system: str,
    table: str,
    *,
    columns: Iterable[str],
    reference: bool = False,
    ignores: Iterable[Op] = (),
) -> Callable[[MapperFn], Mapper]:
    """Declare the decorated function the mapper of ``system``.``table``."""

    def declare(fn: MapperFn) -> Mapper:
        return Mapper(system, table, frozenset(columns), fn, reference, frozenset(ignores))

    return declare


# -- helpers ------------------------------------------------------------------------------------

#: JDE audit columns by table prefix: every program touch rewrites them (update "noise").
AUDIT_SUFFIXES = ("user", "pid", "jobn", "upmj", "tday")
#: Exceed housekeeping columns: ``TrafficCop``/``EditDate`` updates carry no business change.
WMS_HOUSEKEEPING = frozenset(
    {"AddDate", "AddWho", "EditDate", "EditWho", "TrafficCop", "ArchiveCop"}
)


def jde_columns(prefix: str, business: Iterable[str]) -> frozenset[str]:
    """A JDE table's columns: the business ones plus the audit block."""
    return frozenset(business) | {f"{prefix}{s}" for s in AUDIT_SUFFIXES}


def jde_business(prefix: str, columns: frozenset[str]) -> frozenset[str]:
    return columns - {f"{prefix}{s}" for s in AUDIT_SUFFIXES}


def pk_of(row: Row, columns: Iterable[str]) -> str:
    """The row's primary key as one stable string (values trimmed of CHAR padding)."""
    parts = []
    for column in columns:
        value = row.get(column)
        parts.append("" if value is None else str(value).strip())
    return "|".join(parts)


def header(
    change: ChangeEvent,
    *,
    pk: str,
    event_type: str,
    ordinal: int = 0,
    occurred: tuple[datetime, str] | None = None,
    site_id: str | None = None,
) -> dict[str, Any]:
    """The common fields of a canonical event built from ``change``.

    ``occurred`` is (UTC time, site offset) of the business fact; without one the source
    commit time stands in (offset unknown).
    """
    recorded_at = quirks.epoch_millis(change.source_ts_ms)
    occurred_at, offset = occurred if occurred is not None else (recorded_at, None)
    op = change.op.value if change.op is not Op.TRUNCATE else "d"
    return {
        "event_id": event_id(change, pk=pk, event_type=event_type, ordinal=ordinal),
        "occurred_at": occurred_at,
        "occurred_tz_offset": offset,
        "recorded_at": recorded_at,
        "site_id": site_id,
        "source": SourceRef(
            system=change.table.system,
            namespace=change.table.namespace,
            table=change.table.table,
            op=op,
            position=change.position,
            pk=pk,
            snapshot=change.snapshot,
            tx_id=change.tx_id,
        ),
    }


def event_id(change: ChangeEvent, *, pk: str, event_type: str, ordinal: int = 0) -> uuid.UUID:
    return event_id_for(
        system=change.table.system,
        table=change.table.table,
        position=f"{change.position}:{change.op.value}",
        pk=pk,
        event_type=event_type,
        ordinal=ordinal,
    )


def _canonical(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return str(value)


@cache
def _in_order(columns: frozenset[str]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The columns sorted, and a C-level getter of all their values as one tuple."""
    ordered = tuple(sorted(columns))
    if len(ordered) == 1:
        only = ordered[0]
        return ordered, lambda data: (data[only],)  # itemgetter of one key is no tuple
    return ordered, itemgetter(*ordered)


def changed_columns(change: ChangeEvent, columns: frozenset[str]) -> tuple[str, ...]:
    """The ``columns`` whose value differs between the before- and after-image, sorted.

    An update that only touched audit or housekeeping columns (or rewrote a value with the
    same padded text) changes none: the no-op update is suppressed. A column missing from an
    image counts as null.
    """
    before, after = change.before, change.after
    if before is None or after is None:
        return ()
    ordered, values_of = _in_order(columns)
    try:
        old, new = before.pick(values_of), after.pick(values_of)
    except KeyError:
        old, new = tuple(map(before.get, ordered)), tuple(map(after.get, ordered))
    if old == new:
        return ()  # most updates: decided in C, without a look at any single column
    return tuple(
        column
        for column, was, now in zip(ordered, old, new, strict=True)
        if was != now and _canonical(was) != _canonical(now)
    )


def field_changes(change: ChangeEvent, columns: Iterable[str]) -> tuple[FieldChange, ...]:
    """``columns`` (from ``changed_columns``) as canonical before/after strings."""
    before, after = change.before, change.after
    if before is None or after is None:
        return ()
    return tuple(
        FieldChange(field=c, before=_canonical(before.get(c)), after=_canonical(after.get(c)))
        for c in columns
    )


def erp_occurred(row: Row, prefix: str, zone: ZoneInfo) -> tuple[datetime, str] | None:
    """When the ERP last touched the row: ``<prefix>upmj`` + ``<prefix>tday`` in site time."""
    return quirks.erp_datetime(row.integer(f"{prefix}upmj"), row.integer(f"{prefix}tday"), zone)


def erp_quantity(
    ref: Reference,
    row: Row,
    *,
    itm_column: str,
    qty_column: str,
    uom_column: str,
    branch: str | None,
) -> tuple[str, Decimal, str, Quantity]:
    """(item_id, base quantity, base unit, original) of an ERP line in its transaction UoM."""
    item = ref.item(str(row.required_integer(itm_column)))
    original = quirks.implied(row.required_decimal(qty_column), quirks.QUANTITY_SCALE)
    uom = row.required_text(uom_column)
    base = quirks.tidy(ref.to_base(item, branch, original, uom))
    return item.item_id, base, item.base_uom, Quantity(value=original, uom=uom)


def wms_when(
    row: Row, column: str, ref: Reference, site_id: str | None
) -> tuple[datetime, str] | None:
    """A WMS local ``DATETIME`` (epoch millis as if UTC) placed in the facility's zone."""
    return quirks.wms_local_datetime(row.integer(column), ref.site_zone(site_id))


def loc_site(ref: Reference, loc: str | None) -> str | None:
    """The facility (= ERP branch) of a WMS location, from the LOC reference state.

    None for no location; a location the LOC state does not know (yet) is a missing
    reference, never a silent "no site" (the row would lose its site and time zone).
    """
    if loc is None:
        return None
    record = ref.state(f"loc|{loc}")
    if record is None:
        raise MissingReference("unknown_location", f"location {loc!r} is not (yet) known")
    facility = record.get("facility")
    return None if facility is None else str(facility)
