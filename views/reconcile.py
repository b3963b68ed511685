"""Reconciliation: stream-derived positions against the legacy sources' current truth.

A *truth* is what one source says about some buckets per site x item, for example the ERP
book (``f41021``: on hand, soft + hard commit, on order) or the WMS bins (``LOTxLOCxID``: on
hand, allocated, picked). Every bucket a source states is compared for every key either side
knows (a key missing on one side counts as zero there), so a position the stream invented is
found as well as one it missed. Run it at a quiesce point: the sources idle and the pipeline
and the view process caught up.

The truths are read with the simulator's expected-state queries (``legacy_sim.expected``: plain
SQL on the legacy tables, quantities in the base unit, canonical keys), the one place that
knows how the legacy tables state a position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from views.positions import BUCKETS, Key, Position

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from legacy_sim.expected import Position as ErpPosition
    from legacy_sim.expected import WmsPosition
    from views.settings import ViewsSettings


@dataclass(frozen=True, slots=True)
class Truth:
    """One source's statement: ``buckets`` per key (base unit)."""

    source: str
    buckets: Sequence[str]
    values: Mapping[Key, Mapping[str, Decimal]]


@dataclass(frozen=True, slots=True)
class Mismatch:
    source: str
    site_id: str
    item_id: str
    bucket: str
    stream: Decimal
    truth: Decimal

    @property
    def difference(self) -> Decimal:
        return self.stream - self.truth


def compare(stream: Mapping[Key, Position], truths: Sequence[Truth]) -> list[Mismatch]:
    found = []
    for truth in truths:
        unknown = [b for b in truth.buckets if b not in BUCKETS and b != "available"]
        if unknown:
            raise ValueError(f"{truth.source}: unknown buckets {unknown}")
        for key in sorted(set(stream) | set(truth.values)):
            position = stream.get(key, Position())
            stated = truth.values.get(key, {})
            for bucket in truth.buckets:
                mine = position.as_dict()[bucket]
                theirs = stated.get(bucket, Decimal(0))
                if mine != theirs:
                    found.append(Mismatch(truth.source, key[0], key[1], bucket, mine, theirs))
    return found


@dataclass(frozen=True, slots=True)
class Reconciliation:
    mismatches: list[Mismatch]
    #: Site x item keys either side knows.
    keys: int
    #: Sources compared (one per truth).
    sources: int

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reconcile(stream: Mapping[Key, Position], truths: Sequence[Truth]) -> Reconciliation:
    keys = len(set(stream) | {k for t in truths for k in t.values})
    return Reconciliation(compare(stream, truths), keys, len(truths))


def legacy_truths(
    book: Mapping[Key, ErpPosition],
    open_po: Mapping[Key, Decimal],
    bins: Mapping[Key, WmsPosition],
) -> list[Truth]:
    """The truths of the ERP book (``f41021``), its open PO lines (``f4311``) and the WMS
    bins (``LOTxLOCxID``), from what ``legacy_sim.expected`` read of them."""
    return [
        Truth(
            "erp f41021",
            ("on_hand", "allocated", "on_order"),
            {
                k: {
                    "on_hand": p.on_hand,
                    "allocated": p.soft_committed + p.hard_committed,
                    "on_order": p.on_order,
                }
                for k, p in book.items()
            },
        ),
        Truth(
            "erp f4311 open lines", ("on_order",), {k: {"on_order": q} for k, q in open_po.items()}
        ),
        Truth(
            "wms LOTxLOCxID",
            ("on_hand", "reserved", "picked"),
            {
                k: {
                    "on_hand": Decimal(p.qty),
                    "reserved": Decimal(p.allocated),
                    "picked": Decimal(p.picked),
                }
                for k, p in bins.items()
            },
        ),
    ]


def read_truths(erp: str | Engine, wms: str | Engine) -> list[Truth]:
    """The legacy sources' truths, from SQLAlchemy URLs (engines of their own) or engines.

    Raises ``SourceError`` when a source cannot be read (the error's code, never the URL).
    """
    import sqlalchemy

    from legacy_sim import expected
    from views.errors import SourceError

    erp_engine = sqlalchemy.create_engine(erp) if isinstance(erp, str) else erp
    wms_engine = sqlalchemy.create_engine(wms) if isinstance(wms, str) else wms
    try:
        with erp_engine.connect() as e, wms_engine.connect() as w:
            book = expected.erp_positions(e)
            open_po = expected.open_po_quantities(e)
            bins = expected.wms_positions(w)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SourceError(f"cannot read the legacy sources ({exc.code})") from None
    finally:
        if isinstance(erp, str):
            erp_engine.dispose()
        if isinstance(wms, str):
            wms_engine.dispose()
    return legacy_truths(book, open_po, bins)


def reconcile_sources(
    settings: ViewsSettings, erp: str | Engine, wms: str | Engine
) -> Reconciliation:
    """``scv reconcile``: the serving table's positions against the legacy sources now."""
    from views.store import opened

    with opened(settings.libpq_dsn, settings.db_schema) as store:
        store.ensure_schema()
        stream = store.positions()
    return reconcile(stream, read_truths(erp, wms))
