"""B5: source commit of a WMS dispatch → its 856 file in the EDI outbox.

The simulator's ledger gives, per committed ``ship`` transaction, the WMS commit time
(``wms_commit_ns``: ``time.time_ns()`` right after COMMIT returned) and its
``shipment.dispatched`` event, keyed by the shipment id (the MBOL). ``scv edi run`` records
each 856 in its ``documents`` table (business key ``<shipment>|<order>``, file name) and writes
the file to ``<outbox>/<partner>/<file>`` under a temporary name, then renames it: the final
name's inode change time (``st_ctime_ns``, which a rename sets on Linux) is the moment a
pickup agent can first see the whole file. Latency = that time - the WMS commit.

A dispatch gives an 856 only for the sites of a partner that takes 856s (the sample
``acme-retail``: 20001, 20002); the others are counted, not measured. A shipment with more
than one order gives one 856 per order: each is measured against the shipment's commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy

from bench.errors import BenchError

DISPATCHED = "shipment.dispatched"


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A committed dispatch of the ledger: shipment id and WMS commit time (ns)."""

    shipment_id: str
    commit_ns: int


@dataclass(frozen=True, slots=True)
class OutboxFile:
    """An 856 of the EDI stage: its shipment and when its final name appeared (ns)."""

    shipment_id: str
    order_id: str
    visible_ns: int


@dataclass(frozen=True, slots=True)
class Matched:
    dispatch: Dispatch
    file: OutboxFile

    @property
    def latency_ms(self) -> float:
        return (self.file.visible_ns - self.dispatch.commit_ns) / 1e6


def dispatches(rows: Iterable[Mapping[str, Any]]) -> list[Dispatch]:
    """The committed, passing dispatches of ``sim.transactions`` rows (``bench.ledger.rows``)."""
    out: list[Dispatch] = []
    for row in rows:
        if not row["committed"] or row.get("verdict", "pass") != "pass":
            continue
        commit = row.get("wms_commit_ns")
        if commit is None:
            continue
        for event in row["events"] or []:
            if event.get("type") == DISPATCHED and event.get("key") is not None:
                out.append(Dispatch(str(event["key"]), int(commit)))
    return out


def match(found: Sequence[Dispatch], files: Sequence[OutboxFile]) -> list[Matched]:
    """Each file with the dispatch of its shipment (files of other runs' shipments: none)."""
    by_shipment = {d.shipment_id: d for d in found}
    return [Matched(by_shipment[f.shipment_id], f) for f in files if f.shipment_id in by_shipment]


def files_856(store_dsn: str, schema: str, outbox: Path) -> list[OutboxFile]:
    """The 856s the EDI stage recorded in ``schema``, with their files' rename times.

    A document recorded but not yet renamed into the outbox (the stage writes it after its
    transaction commits) is left out until its file is there."""
    query = sqlalchemy.text(
        f"SELECT partner_id, business_key, file_name FROM {schema}.documents WHERE doc_type = '856'"
    )
    engine = sqlalchemy.create_engine(store_dsn)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except sqlalchemy.exc.ProgrammingError:
        return []  # the stage has not created its tables yet
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise BenchError(f"cannot read the EDI documents in {schema}: {exc.code}") from None
    finally:
        engine.dispose()
    out: list[OutboxFile] = []
    for partner, key, name in rows:
        try:
            visible = (outbox / str(partner) / str(name)).stat().st_ctime_ns
        except FileNotFoundError:
            continue
        shipment, _, order = str(key).partition("|")
        out.append(OutboxFile(shipment, order, visible))
    return out


def consumed(store_dsn: str, schema: str) -> int:
    """How far the EDI stage has read: the sum of its committed offsets (0 before its tables)."""
    query = sqlalchemy.text(f"SELECT coalesce(sum(next_offset), 0) FROM {schema}.consumed_offsets")
    engine = sqlalchemy.create_engine(store_dsn)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    except sqlalchemy.exc.ProgrammingError:
        return 0
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise BenchError(f"cannot read the EDI offsets in {schema}: {exc.code}") from None
    finally:
        engine.dispose()


def drop_schema(store_dsn: str, schema: str) -> None:
    engine = sqlalchemy.create_engine(store_dsn)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise BenchError(f"cannot drop the EDI schema {schema}: {exc.code}") from None
    finally:
        engine.dispose()
