"""The Kafka broker: KRaft combined mode (broker + controller) on loopback; one node, or three
(``scv stack up --brokers 3``: a controller quorum of three, each node its own component)."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from kafkaio import client_config
from stack.components.base import Component
from stack.credentials import KAFKA_BROKER_USER, KAFKA_CLIENT_USER, Credentials
from stack.db_settings import kafka_settings
from stack.endpoints import SASL_MECHANISM, kafka_security_env
from stack.errors import CorruptState, PrerequisiteMissing
from stack.jars import KAFKA_LIB, jars_dir
from stack.settings import StackSettings
from stack.versions import jvm_versions

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise PrerequisiteMissing(
            "java: not found; install a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
        )
    return found


def java_argv(heap: str, lib: Path, log4j2: Path, main: str, *args: str) -> list[str]:
    """A JVM command line with an explicit heap: the whole stack shares two cores."""
    return [
        java(),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j2}",
        "-cp",
        f"{lib}/*",
        main,
        *args,
    ]


def broker_name(node: int) -> str:
    """``kafka`` for node 1 (the only one of a single-broker stack), ``kafka-N`` after it."""
    return "kafka" if node == 1 else f"kafka-{node}"


class KafkaBroker(Component):
    name = "kafka"
    port_env_var = "SCV_KAFKA_PORT"

    def __init__(self, settings: StackSettings, credentials: Credentials, node: int = 1) -> None:
        self.node = node
        self.name = broker_name(node)
        super().__init__(settings, credentials)

    @property
    def port(self) -> int:
        return self.settings.broker_port(self.node)

    @property
    def controller_port(self) -> int:
        return self.settings.controller_port(self.node)

    @property
    def voters(self) -> str:
        """``controller.quorum.voters``: every node's controller."""
        host = self.settings.host
        nodes = range(1, self.settings.cluster_size + 1)
        return ",".join(f"{n}@{host}:{self.settings.controller_port(n)}" for n in nodes)

    @property
    def cluster_id_file(self) -> Path:
        """The cluster id every node is formatted with (one cluster, one id)."""
        return self.settings.conf_dir / "kafka-cluster-id"

    def cluster_id(self) -> str:
        if self.cluster_id_file.exists():
            return self.cluster_id_file.read_text().strip()
        made = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.cluster_id_file.write_text(made + "\n")
        return made

    @property
    def lib(self) -> Path:
        return jars_dir(self.settings) / KAFKA_LIB

    @property
    def properties(self) -> Path:
        return self.settings.conf_dir / f"{self.name}.properties"

    @property
    def log4j2(self) -> Path:
        return self.settings.conf_dir / "log4j2.properties"

    def check_prerequisites(self) -> None:
        java()

    def server_properties(self) -> dict[str, str]:
        host, port, ctl = self.settings.host, self.port, self.controller_port
        if self.settings.is_secure:
            return self._secure_properties()
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node),
            "controller.quorum.voters": self.voters,
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctl}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            **kafka_settings(self.settings.cluster_size),
        }

    def _secure_properties(self) -> dict[str, str]:
        """SASL_SSL (SCRAM-SHA-512) for clients and between brokers, mutual TLS on the
        controller listener (KRaft controllers cannot use SCRAM, whose users live in the
        metadata they serve). The broker's own SCRAM password reaches its JAAS config as an
        ``${env:...}`` reference, never as a value in this file."""
        from stack.tls import broker_pem_path, ca_path

        host, port, ctl = self.settings.host, self.port, self.settings.kafka_controller_port
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{KAFKA_BROKER_USER}" password="${{env:SCV_KAFKA_BROKER_PASSWORD}}";'
        )
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{host}:{ctl}",
            "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{ctl}",
            "advertised.listeners": f"SASL_SSL://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "sasl.enabled.mechanisms": SASL_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
            f"listener.name.sasl_ssl.{SASL_MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(broker_pem_path(self.settings)),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(ca_path(self.settings)),
            "listener.name.controller.ssl.client.auth": "required",
            "config.providers": "env",
            "config.providers.env.class": (
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
            ),
            "config.providers.env.param.allowlist.pattern": "^SCV_KAFKA_BROKER_PASSWORD$",
            "log.dirs": str(self.home / "data"),
            **kafka_settings(1),
        }

    def env(self) -> dict[str, str] | None:
        if not self.settings.is_secure:
            return None
        return {
            **os.environ,
            "SCV_KAFKA_BROKER_PASSWORD": self.credentials["SCV_KAFKA_BROKER_PASSWORD"],
        }

    def _scram_arguments(self) -> bytes:
        """``--add-scram`` arguments for the format, as argparse4j reads them from an
        ``@file``: one per line. They travel through a pipe, never on the command line."""
        users = (
            (KAFKA_BROKER_USER, self.credentials["SCV_KAFKA_BROKER_PASSWORD"]),
            (KAFKA_CLIENT_USER, self.credentials["SCV_KAFKA_CLIENT_PASSWORD"]),
        )
        lines = []
        for name, password in users:
            lines += ["--add-scram", f"{SASL_MECHANISM}=[name={name},password={password}]"]
        return "".join(f"{line}\n" for line in lines).encode()

    def prepare(self) -> None:
        conf = self.settings.conf_dir
        conf.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(
            "".join(f"{k}={v}\n" for k, v in self.server_properties().items())
        )
        self.log4j2.write_text(LOG4J2)
        data = self.home / "data"
        if (data / "meta.properties").exists():
            return
        if data.exists() and any(data.iterdir()):
            raise CorruptState(
                f"kafka: {data} is not empty but was never formatted (no meta.properties); "
                "run `scv stack down --purge` or remove it"
            )
        cluster_id = self.cluster_id()
        # One id in 64 starts with "-": as a separate argument the tool reads it as an option
        # ("--cluster-id: expected one argument") and the first start fails.
        argv = java_argv(
            "256m", self.lib, self.log4j2, "kafka.tools.StorageTool",
            "format", f"--cluster-id={cluster_id}", "-c", str(self.properties),
        )  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        fds: tuple[int, ...] = ()
        if self.settings.is_secure:
            read, write = os.pipe()
            os.write(write, self._scram_arguments())  # far below a pipe's buffer
            os.close(write)
            fds = (read,)
            argv.append(f"@/dev/fd/{read}")
        try:
            with self.log.open("ab") as out:
                rc = subprocess.run(
                    argv, stdout=out, stderr=subprocess.STDOUT, check=False, pass_fds=fds
                ).returncode
        finally:
            for fd in fds:
                os.close(fd)
        if rc != 0:
            raise CorruptState(f"kafka: storage format failed with exit code {rc} ({self.log})")

    def argv(self) -> list[str]:
        return java_argv(
            self.settings.kafka_heap, self.lib, self.log4j2, "kafka.Kafka", str(self.properties)
        )

    def probe(self) -> str | None:
        try:
            socket.create_connection((self.settings.host, self.port), timeout=1).close()
        except OSError as exc:
            return f"broker port does not accept connections ({exc.strerror})"
        admin = AdminClient(
            client_config(
                f"{self.settings.host}:{self.port}",  # this node, not the cluster
                environ=kafka_security_env(self.settings, self.credentials),
                config={
                    "socket.timeout.ms": 3000,
                    # librdkafka's connect retries are noise while the broker starts.
                    "log_level": 2,
                },
            )
        )
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception as exc:  # noqa: BLE001 - librdkafka raises KafkaException of many kinds
            return f"broker metadata does not answer ({exc})"
        if not metadata.brokers:
            return "broker metadata lists no broker"
        return None

    def version(self) -> str:
        return jvm_versions().kafka
