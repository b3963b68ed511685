"""The endpoints of the running stack, for ``scv stack env`` and the other packages' settings."""

from __future__ import annotations

from typing import Any

import pymysql

import dsn
from stack.credentials import (
    ERP_DATABASE,
    ERP_OWNER,
    ERP_READER,
    SCV_DATABASE,
    STORE_USER,
    WMS_DATABASE,
    WMS_OWNER,
    Credentials,
)
from stack.settings import StackSettings


def exports(settings: StackSettings, credentials: Credentials) -> dict[str, str]:
    """``SCV_*`` variables for local use: Kafka, Connect, and SQLAlchemy URLs of the databases.

    ``SCV_ERP_DSN`` and ``SCV_WMS_DSN`` are the legacy owners (the simulator writes as them),
    ``SCV_ERP_READ_DSN`` the ERP's read-only user (the pipeline's F0006 lookup, reconciliation),
    ``SCV_STORE_DSN`` the owner of scv's own database. The URLs carry the local sandbox
    passwords, URL-encoded (a password from the environment may hold ``@`` or ``/``): ``scv
    stack env`` exists to hand them to a local shell. The CDC users' passwords are never exported.
    """
    host = settings.host
    erp_pw = credentials["SCV_ERP_OWNER_PASSWORD"]
    reader_pw = credentials["SCV_ERP_READER_PASSWORD"]
    store_pw = credentials["SCV_STORE_PASSWORD"]
    wms_pw = credentials["SCV_WMS_OWNER_PASSWORD"]
    pg, maria = settings.postgres_port, settings.mariadb_port
    return {
        "SCV_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SCV_CONNECT_URL": settings.connect_url,
        "SCV_ERP_DSN": dsn.url("postgresql+psycopg", ERP_OWNER, erp_pw, host, pg, ERP_DATABASE),
        "SCV_ERP_READ_DSN": dsn.url(
            "postgresql+psycopg", ERP_READER, reader_pw, host, pg, ERP_DATABASE
        ),
        "SCV_WMS_DSN": dsn.url("mysql+pymysql", WMS_OWNER, wms_pw, host, maria, WMS_DATABASE),
        "SCV_STORE_DSN": dsn.url(
            "postgresql+psycopg", STORE_USER, store_pw, host, pg, SCV_DATABASE
        ),
    }


def wms_owner_connection(
    settings: StackSettings, credentials: Credentials
) -> pymysql.connections.Connection[Any]:
    """An autocommit connection to the WMS database as its owner (checks, tests, scripts)."""
    return pymysql.connect(
        host=settings.host,
        port=settings.mariadb_port,
        user=WMS_OWNER,
        password=credentials["SCV_WMS_OWNER_PASSWORD"],
        database=WMS_DATABASE,
        autocommit=True,
    )
