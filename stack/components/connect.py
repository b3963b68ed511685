"""Kafka Connect in distributed mode with the Debezium PostgreSQL and MariaDB plugins and scv's
own transform (``HashPii``, the salted hashing of customer names and addresses)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from stack.components.base import Component
from stack.components.kafka import LOG4J2, java_argv
from stack.credentials import CONNECT_REST_USER, CONNECT_SECRETS
from stack.db_settings import connect_settings
from stack.endpoints import CONNECT_KAFKA_PASSWORD_VAR, java_kafka_security
from stack.jars import KAFKA_LIB, PLUGINS, jars_dir
from stack.versions import jvm_versions

#: What the worker inherits from our environment: what a JVM needs to start and print, nothing
#: else (the shell that runs ``scv stack up`` may hold ``SCV_*_DSN`` with passwords in them).
INHERITED_ENV = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "JAVA_HOME")

#: The REST API's basic auth (Kafka's ``connect-basic-auth-extension``, KIP-208): a JAAS
#: ``KafkaConnect`` entry whose login module reads ``user: password`` lines from a file.
BASIC_AUTH_EXTENSION = (
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
)
PROPERTY_FILE_LOGIN = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"
#: The worker's inherited descriptor that carries the REST users (a pipe, see
#: ``ConnectWorker.inherited_fds``).
REST_USERS_FD = 3

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
        properties = {
            "bootstrap.servers": self.settings.kafka_bootstrap,
            "listeners": self.settings.connect_url,
            "rest.advertised.host.name": self.settings.host,
            "rest.advertised.port": str(self.port),
            "plugin.path": str(jars_dir(self.settings) / PLUGINS),
            **connect_settings(self.settings.cluster_size),
        }
        if self.settings.is_secure:
            properties |= self._secure_properties()
        return properties

    def _secure_properties(self) -> dict[str, str]:
        """The worker's Kafka clients on SASL_SSL: its own (group, internal topics) and, through
        the ``producer.``/``consumer.``/``admin.`` prefixes, its connectors' (Connect passes
        only the prefixed settings to a task's producer). The REST API behind basic auth."""
        security = java_kafka_security(self.settings)
        properties = dict(security)
        for prefix in ("producer.", "consumer.", "admin."):
            properties |= {prefix + key: value for key, value in security.items()}
        names = (*CONNECT_SECRETS, CONNECT_KAFKA_PASSWORD_VAR)
        properties["config.providers.env.param.allowlist.pattern"] = f"^({'|'.join(names)})$"
        properties["rest.extension.classes"] = BASIC_AUTH_EXTENSION
        return properties

    @property
    def jaas(self) -> Path:
        return self.settings.conf_dir / "connect-jaas.conf"

    def prepare(self) -> None:
        conf = self.settings.conf_dir
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "connect.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in self.worker_properties().items())
        )
        (conf / "connect-log4j2.properties").write_text(LOG4J2)
        if self.settings.is_secure:
            self.jaas.write_text(
                "KafkaConnect {\n"
                f'  {PROPERTY_FILE_LOGIN} required file="/dev/fd/{REST_USERS_FD}";\n'
                "};\n"
            )
        self.home.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        conf = self.settings.conf_dir
        argv = java_argv(
            self.settings.connect_heap,
            jars_dir(self.settings) / KAFKA_LIB,
            conf / "connect-log4j2.properties",
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(conf / "connect.properties"),
        )
        if self.settings.is_secure:
            argv.insert(1, f"-Djava.security.auth.login.config={self.jaas}")
        return argv

    def inherited_fds(self) -> dict[int, bytes]:
        """The REST API's users, as ``PropertyFileLoginModule`` reads them (``user: password``),
        on a pipe the worker inherits as fd ``REST_USERS_FD``: the password is in no file, and
        the module reads the pipe once, at the first request, and keeps it."""
        if not self.settings.is_secure:
            return {}
        password = self.credentials["SCV_CONNECT_REST_PASSWORD"]
        return {REST_USERS_FD: f"{CONNECT_REST_USER}: {password}\n".encode()}

    def rest_auth(self) -> tuple[str, str] | None:
        if not self.settings.is_secure:
            return None
        return CONNECT_REST_USER, self.credentials["SCV_CONNECT_REST_PASSWORD"]

    def env(self) -> dict[str, str]:
        # Secrets reach connector configs only through ${env:NAME} (EnvVarConfigProvider), and
        # the worker holds no other: not the owners' passwords, not a DSN the shell exported.
        inherited = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        secrets = {name: self.credentials[name] for name in CONNECT_SECRETS}
        if self.settings.is_secure:
            secrets[CONNECT_KAFKA_PASSWORD_VAR] = self.credentials["SCV_KAFKA_CLIENT_PASSWORD"]
        return {**inherited, **secrets}

    def probe(self) -> str | None:
        try:
            response = httpx.get(
                f"{self.settings.connect_url}/connector-plugins",
                params={"connectorsOnly": "false"},  # transforms too
                timeout=3,
                auth=self.rest_auth(),
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
