"""The secure stack's configuration: no plaintext listener, no secret in a file or on a
command line, the clients' settings exported, and a plain stack left as it was."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from connectors.render import RenderContext, render
from connectors.specs import load_specs
from kafkaio import client_config
from stack.components.connect import REST_USERS_FD, ConnectWorker
from stack.components.kafka import KafkaBroker
from stack.credentials import SECURE_SECRET_NAMES, load_existing, load_or_create
from stack.endpoints import exports, java_kafka_security
from stack.processes import spawn
from stack.settings import StackSettings
from stack.tls import broker_pem_path, ca_path, ensure_tls


@pytest.fixture
def secure(tmp_path: Path) -> StackSettings:
    return StackSettings(state_dir=tmp_path / "state", secure=True)


@pytest.fixture
def plain(tmp_path: Path) -> StackSettings:
    return StackSettings(state_dir=tmp_path / "plain")


def _secrets(settings: StackSettings) -> dict[str, str]:
    return load_or_create(settings.state_dir, environ={}, secure=settings.is_secure).as_env()


def test_a_plain_stack_gets_no_secure_secrets_and_exports_no_security(plain: StackSettings) -> None:
    credentials = load_or_create(plain.state_dir, environ={})
    assert not set(SECURE_SECRET_NAMES) & set(credentials.as_env())
    env = exports(plain, credentials)
    assert not [k for k in env if k.startswith(("SCV_KAFKA_S", "SCV_CONNECT_USER"))]
    assert (
        KafkaBroker(plain, credentials).server_properties()["listeners"].startswith("PLAINTEXT://")
    )
    assert java_kafka_security(plain) == {}


def test_the_secure_broker_has_no_plaintext_listener_and_no_secret_in_its_file(
    secure: StackSettings,
) -> None:
    credentials = load_or_create(secure.state_dir, environ={}, secure=True)
    broker = KafkaBroker(secure, credentials)
    props = broker.server_properties()
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert "PLAINTEXT" not in props["listeners"]
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    text = "".join(f"{k}={v}\n" for k, v in props.items())
    for name in SECURE_SECRET_NAMES:
        assert credentials[name] not in text
    assert "${env:SCV_KAFKA_BROKER_PASSWORD}" in text
    allow = re.compile(props["config.providers.env.param.allowlist.pattern"])
    assert allow.fullmatch("SCV_KAFKA_BROKER_PASSWORD")
    assert not allow.fullmatch("SCV_KAFKA_CLIENT_PASSWORD")
    env = broker.env()
    assert env is not None
    assert env["SCV_KAFKA_BROKER_PASSWORD"] == credentials["SCV_KAFKA_BROKER_PASSWORD"]
    # The SCRAM users of the format travel on a pipe as argparse4j @file lines.
    lines = broker._scram_arguments().decode().splitlines()
    assert lines[0::2] == ["--add-scram", "--add-scram"]
    names = [re.findall(r"^SCRAM-SHA-512=\[name=([^,]+),password=", line) for line in lines[1::2]]
    assert names == [["scv-broker"], ["scv"]]


def test_the_secure_worker_authenticates_everywhere_and_guards_its_rest_api(
    secure: StackSettings,
) -> None:
    credentials = load_or_create(secure.state_dir, environ={}, secure=True)
    worker = ConnectWorker(secure, credentials)
    props = worker.worker_properties()
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert props[f"{prefix}security.protocol"] == "SASL_SSL"
        assert "${env:SCV_KAFKA_CLIENT_PASSWORD}" in props[f"{prefix}sasl.jaas.config"]
    assert props["rest.extension.classes"].endswith("BasicAuthSecurityRestExtension")
    allow = re.compile(props["config.providers.env.param.allowlist.pattern"])
    assert allow.fullmatch("SCV_KAFKA_CLIENT_PASSWORD")
    assert not allow.fullmatch("SCV_CONNECT_REST_PASSWORD")
    text = "".join(f"{k}={v}\n" for k, v in props.items())
    argv = " ".join(worker.argv())
    worker.prepare()
    jaas = worker.jaas.read_text()
    for name in SECURE_SECRET_NAMES:
        for where in (text, argv, jaas):
            assert credentials[name] not in where
    assert f'file="/dev/fd/{REST_USERS_FD}"' in jaas
    assert f"-Djava.security.auth.login.config={worker.jaas}" in argv
    env = worker.env()
    assert env["SCV_KAFKA_CLIENT_PASSWORD"] == credentials["SCV_KAFKA_CLIENT_PASSWORD"]
    assert "SCV_CONNECT_REST_PASSWORD" not in env
    users = worker.inherited_fds()[REST_USERS_FD].decode()
    assert users == f"scv: {credentials['SCV_CONNECT_REST_PASSWORD']}\n"


def test_the_stack_exports_what_clients_need(secure: StackSettings) -> None:
    credentials = load_or_create(secure.state_dir, environ={}, secure=True)
    env = exports(secure, credentials)
    config = client_config(env["SCV_KAFKA_BOOTSTRAP"], environ=env)
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "scv"
    assert config["sasl.password"] == credentials["SCV_KAFKA_CLIENT_PASSWORD"]
    assert config["ssl.ca.location"] == str(ca_path(secure))
    assert env["SCV_CONNECT_PASSWORD"] == credentials["SCV_CONNECT_REST_PASSWORD"]
    # The broker's own password is for the broker only.
    assert credentials["SCV_KAFKA_BROKER_PASSWORD"] not in env.values()


def test_a_stack_recorded_secure_stays_secure(tmp_path: Path) -> None:
    settings = StackSettings(state_dir=tmp_path / "s")
    assert not settings.is_secure
    settings.secure_marker.parent.mkdir(parents=True)
    settings.secure_marker.write_text("scv stack up --secure\n")
    assert settings.is_secure
    created = load_or_create(settings.state_dir, environ={})
    assert set(SECURE_SECRET_NAMES) <= set(created.as_env())
    assert set(SECURE_SECRET_NAMES) <= set(load_existing(settings.state_dir, environ={}).as_env())


def test_the_ca_and_the_broker_certificate(secure: StackSettings) -> None:
    assert ensure_tls(secure) is True
    assert ensure_tls(secure) is False  # made once
    ca = x509.load_pem_x509_certificate(ca_path(secure).read_bytes())
    chain = x509.load_pem_x509_certificates(broker_pem_path(secure).read_bytes())
    broker = chain[0]
    assert broker.issuer == ca.subject
    broker.verify_directly_issued_by(ca)  # raises unless the CA signed it
    san = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    usages = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    assert broker_pem_path(secure).stat().st_mode & 0o077 == 0
    assert b"PRIVATE KEY" in broker_pem_path(secure).read_bytes()
    assert b"PRIVATE KEY" not in ca_path(secure).read_bytes()


def test_the_mariadb_schema_history_clients_get_the_worker_s_security(
    secure: StackSettings,
) -> None:
    spec = load_specs()["wms"]
    security = java_kafka_security(secure)
    config = render(spec, RenderContext(kafka_bootstrap="h:1", kafka_security=security))
    for client in ("producer", "consumer"):
        assert config[f"schema.history.internal.{client}.security.protocol"] == "SASL_SSL"
        assert "${env:" in config[f"schema.history.internal.{client}.sasl.jaas.config"]
    plain = render(spec, RenderContext(kafka_bootstrap="h:1"))
    assert not [k for k in plain if k.startswith("schema.history.internal.producer.")]


def test_a_started_process_reads_its_secret_on_an_inherited_pipe(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    spawn(
        ["sh", "-c", f"cat /dev/fd/{REST_USERS_FD}"],
        log=log,
        fds={REST_USERS_FD: b"scv: pipe-secret\n"},
    )
    deadline = time.monotonic() + 10
    while "pipe-secret" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the child did not read the pipe"
        time.sleep(0.05)
    assert log.read_text() == "scv: pipe-secret\n"
