"""The legacy schemas: models, the list of captured tables, and their (re)creation.

``CAPTURED_TABLES`` is the one list the connectors are pointed at (Debezium
``table.include.list`` spelling: ``schema.table`` for PostgreSQL, ``database.table`` for
MariaDB). ``proddta.f0006`` (branch → time zone) is static seed data and not captured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy import Engine, text

from legacy_sim.schemas.erp import ERP_SCHEMA, ErpBase
from legacy_sim.schemas.wms import WMS_DATABASE, WmsBase

CAPTURED_TABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "erp": tuple(
        f"{ERP_SCHEMA}.{t}"
        for t in ("f4101", "f41002", "f41021", "f4211", "f42119", "f4311", "f43121")
    ),
    "wms": tuple(
        f"{WMS_DATABASE}.{t}"
        for t in (
            "LOC",
            "LOTATTRIBUTE",
            "LOTxLOCxID",
            "ORDERS",
            "PICKDETAIL",
            "ITRN",
            "RECEIPTDETAIL",
            "ZZ_TEMP_LOG",
        )
    ),
}


def recreate_erp(engine: Engine) -> None:
    """Drop and recreate schema ``proddta``; captured tables get ``REPLICA IDENTITY FULL``
    so updates and deletes carry full before-images (no-op filtering, bucket deltas)."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {ERP_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {ERP_SCHEMA}"))
        ErpBase.metadata.create_all(conn)
        for qualified in CAPTURED_TABLES["erp"]:
            conn.execute(text(f"ALTER TABLE {qualified} REPLICA IDENTITY FULL"))


def recreate_wms(engine: Engine) -> None:
    """Drop and recreate the WMS tables in the DSN's database (the owner may not create
    databases, and other objects in ``wmwhse1`` are not ours to drop)."""
    with engine.begin() as conn:
        WmsBase.metadata.drop_all(conn, checkfirst=True)
        WmsBase.metadata.create_all(conn)


def erp_exists(engine: Engine) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": ERP_SCHEMA}
        ).scalar_one()
    return int(found) >= len(ErpBase.metadata.tables)
