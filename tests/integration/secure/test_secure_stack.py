"""A secure stack (``scv stack up --secure``) refuses whoever has no credentials: Kafka
clients without SASL, with a wrong password or without TLS, a client of the controller
listener without the broker's certificate, and Connect's REST API without basic auth.

Run by ``make test-secure`` (``scripts/test-secure.sh``) against a secure stack; ``make test``
leaves this folder out (its stack is a plain one).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kafkaio import client_config
from stack.settings import StackSettings


@pytest.fixture(scope="module")
def secure_env(stack_settings: StackSettings, endpoints: dict[str, str]) -> dict[str, str]:
    assert stack_settings.is_secure, "not a secure stack: run `scv stack up --secure`"
    assert endpoints["SCV_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    return endpoints


def _metadata(config: dict[str, Any]) -> Any:
    return AdminClient({**config, "socket.timeout.ms": 5000, "log_level": 0}).list_topics(timeout=8)


def test_a_client_with_the_stack_s_credentials_is_served(secure_env: dict[str, str]) -> None:
    metadata = _metadata(client_config(secure_env["SCV_KAFKA_BOOTSTRAP"], environ=secure_env))
    assert metadata.brokers


def test_a_client_without_credentials_is_refused(
    secure_env: dict[str, str], stack_settings: StackSettings
) -> None:
    bootstrap = secure_env["SCV_KAFKA_BOOTSTRAP"]
    controller = f"{stack_settings.host}:{stack_settings.kafka_controller_port}"
    ca = secure_env["SCV_KAFKA_SSL_CA_LOCATION"]
    scram = {"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "scv"}
    refused = {
        "plaintext, no credentials": {"bootstrap.servers": bootstrap},
        "TLS, no credentials": {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": ca,
        },
        "SASL without TLS": {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            **scram,
            "sasl.password": secure_env["SCV_KAFKA_SASL_PASSWORD"],
        },
        "a wrong password": {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": ca,
            **scram,
            "sasl.password": "not-" + secure_env["SCV_KAFKA_SASL_PASSWORD"],
        },
        "the controller, without the broker's certificate": {
            "bootstrap.servers": controller,
            "security.protocol": "SSL",
            "ssl.ca.location": ca,
        },
    }
    served = []
    for what, config in refused.items():
        try:
            _metadata(config)
        except KafkaException:
            continue
        served.append(what)
    assert served == [], f"served: {served}"


def test_connect_s_rest_api_asks_for_credentials(secure_env: dict[str, str]) -> None:
    url = f"{secure_env['SCV_CONNECT_URL']}/connectors"
    assert httpx.get(url, timeout=10).status_code == 401
    user, password = secure_env["SCV_CONNECT_USERNAME"], secure_env["SCV_CONNECT_PASSWORD"]
    assert httpx.get(url, timeout=10, auth=(user, "not-" + password)).status_code == 401
    assert httpx.get(url, timeout=10, auth=(user, password)).status_code == 200


def test_no_secret_is_in_a_rendered_config_or_a_log(
    secure_env: dict[str, str], stack_settings: StackSettings, credentials: Any
) -> None:
    secrets = [v for k, v in credentials.as_env().items() if k.endswith("PASSWORD")]
    places = [
        *stack_settings.conf_dir.glob("*.properties"),
        *stack_settings.conf_dir.glob("*.conf"),
    ]
    places += list(stack_settings.logs_dir.glob("*.log"))
    leaked = [
        str(path)
        for path in places
        if any(secret in path.read_text(errors="replace") for secret in secrets)
    ]
    assert places
    assert leaked == []
