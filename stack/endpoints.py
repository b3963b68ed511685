"""The endpoints of the running stack, for ``scv stack env`` and the other packages' settings."""

from __future__ import annotations

from typing import Any

import pymysql

import dsn
from stack.credentials import (
    CONNECT_REST_USER,
    ERP_DATABASE,
    ERP_OWNER,
    ERP_READER,
    KAFKA_CLIENT_USER,
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
        **kafka_security_env(settings, credentials),
        **connect_auth_env(settings, credentials),
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
        **replication_env(settings),
    }


def replication_env(settings: StackSettings) -> dict[str, str]:
    """The replication factor of the topics scv's stages create, on a stack of more than one
    broker (their settings' default, 1, is the single broker's)."""
    size = settings.cluster_size
    if size == 1:
        return {}
    return {
        "SCV_TRANSFORMS_TOPIC_REPLICATION": str(size),
        "SCV_VIEWS_TOPIC_REPLICATION": str(size),
        "SCV_EDI_EPCIS_REPLICATION": str(size),
        "SCV_CARRIER_TOPIC_REPLICATION": str(size),
        "SCV_AUDIT_TOPIC_REPLICATION": str(size),
    }


#: The SASL mechanism of the secure stack (SCRAM-SHA-512: salted, iterated, never the
#: password on the wire; users in the cluster metadata).
SASL_MECHANISM = "SCRAM-SHA-512"
#: The worker's environment variable holding the clients' SCRAM password (Connect resolves it
#: through its EnvVarConfigProvider in its own and Debezium's client configs).
CONNECT_KAFKA_PASSWORD_VAR = "SCV_KAFKA_CLIENT_PASSWORD"


def kafka_security_env(settings: StackSettings, credentials: Credentials) -> dict[str, str]:
    """``SCV_KAFKA_*`` pass-through settings (``kafkaio.client_config``) for a secure stack;
    empty for a plain one."""
    if not settings.is_secure:
        return {}
    from stack.tls import ca_path

    return {
        "SCV_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SCV_KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        "SCV_KAFKA_SASL_USERNAME": KAFKA_CLIENT_USER,
        "SCV_KAFKA_SASL_PASSWORD": credentials["SCV_KAFKA_CLIENT_PASSWORD"],
        "SCV_KAFKA_SSL_CA_LOCATION": str(ca_path(settings)),
    }


def connect_auth_env(settings: StackSettings, credentials: Credentials) -> dict[str, str]:
    """Connect's REST credentials for a secure stack (empty for a plain one)."""
    if not settings.is_secure:
        return {}
    return {
        "SCV_CONNECT_USERNAME": CONNECT_REST_USER,
        "SCV_CONNECT_PASSWORD": credentials["SCV_CONNECT_REST_PASSWORD"],
    }


def java_kafka_security(settings: StackSettings) -> dict[str, str]:
    """The same security for a Java client inside the Connect worker (its own clients, and
    Debezium's schema-history clients): the password is a ``${env:...}`` reference the worker
    resolves, never the value. Empty for a plain stack."""
    if not settings.is_secure:
        return {}
    from stack.tls import ca_path

    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{KAFKA_CLIENT_USER}" password="${{env:{CONNECT_KAFKA_PASSWORD_VAR}}}";'
    )
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": SASL_MECHANISM,
        "sasl.jaas.config": jaas,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca_path(settings)),
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
