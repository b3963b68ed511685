"""Kafka Connect in distributed mode with the Debezium PostgreSQL and MariaDB plugins and scv's
own transform (``HashPii``, the salted hashing of customer names and addresses)."""

from __future__ import annotations

import os

import httpx

from stack.components.base import Component
from stack.components.kafka import LOG4J2, java_argv
from stack.credentials import CONNECT_SECRETS
from stack.db_settings import CONNECT_SETTINGS
from stack.jars import KAFKA_LIB, PLUGINS, jars_dir
from stack.versions import jvm_versions

#: What the worker inherits from our environment: what a JVM needs to start and print, nothing
#: else (the shell that runs ``scv stack up`` may hold ``SCV_*_DSN`` with passwords in them).
INHERITED_ENV = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "JAVA_HOME")

#: The plugin classes ``up`` waits for: both connectors and scv's PII-hashing transform must be
#: listed by the worker.
REQUIRED_PLUGINS = (
    "io.debezium.connector.postgresql.PostgresConnector",
    "io.debezium.connector.mariadb.MariaDbConnector",
    "dev.scv.connect.transforms.HashPii",
)


class ConnectWorker(Component):
    name = "connect"
    port_env_var = "SCV_CONNECT_PORT"

    @property
    def port(self) -> int:
        return self.settings.connect_port

    def check_prerequisites(self) -> None:
        from stack.components.kafka import java

        java()

    def worker_properties(self) -> dict[str, str]:
        return {
            "bootstrap.servers": self.settings.kafka_bootstrap,
            "listeners": self.settings.connect_url,
            "rest.advertised.host.name": self.settings.host,
            "rest.advertised.port": str(self.port),
            "plugin.path": str(jars_dir(self.settings) / PLUGINS),
            **CONNECT_SETTINGS,
        }

    def prepare(self) -> None:
        conf = self.settings.conf_dir
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "connect.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in self.worker_properties().items())
        )
        (conf / "connect-log4j2.properties").write_text(LOG4J2)
        self.home.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        conf = self.settings.conf_dir
        return java_argv(
            self.settings.connect_heap,
            jars_dir(self.settings) / KAFKA_LIB,
            conf / "connect-log4j2.properties",
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(conf / "connect.properties"),
        )

    def env(self) -> dict[str, str]:
        # Secrets reach connector configs only through ${env:NAME} (EnvVarConfigProvider), and
        # the worker holds no other: not the owners' passwords, not a DSN the shell exported.
        inherited = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        return {**inherited, **{name: self.credentials[name] for name in CONNECT_SECRETS}}

    def probe(self) -> str | None:
        try:
            response = httpx.get(
                f"{self.settings.connect_url}/connector-plugins",
                params={"connectorsOnly": "false"},  # transforms too
                timeout=3,
            )
        except httpx.HTTPError as exc:
            return f"REST API does not answer ({exc.__class__.__name__})"
        if response.status_code != 200:
            return f"REST API answers {response.status_code}"
        listed = {plugin["class"] for plugin in response.json()}
        missing = [cls for cls in REQUIRED_PLUGINS if cls not in listed]
        if missing:
            return f"plugins not loaded: {', '.join(missing)}"
        return None

    def version(self) -> str:
        versions = jvm_versions()
        return (
            f"{versions.kafka} + Debezium {versions.debezium} (postgres), "
            f"{versions.debezium_mariadb} (mariadb)"
        )
