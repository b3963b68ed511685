"""docker-compose.yml must describe the same stack as the local launcher.

No Docker engine runs here, so the compose file is checked against the launcher's own settings:
services, versions, and every CDC-critical database, Kafka and Connect setting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.components.mariadb import CDC_GRANTS
from stack.components.postgres import find_bindir
from stack.credentials import WMS_CONTROL_DATABASE, WMS_DATABASE
from stack.db_settings import (
    CONNECT_SETTINGS,
    KAFKA_CLUSTER_SETTINGS,
    KAFKA_SETTINGS,
    MARIADB_SERIES,
    MARIADB_SETTINGS,
    POSTGRES_MAJOR,
    POSTGRES_SETTINGS,
    connect_settings,
)
from stack.settings import REPO_ROOT
from stack.versions import jvm_versions


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _tag(compose: dict[str, Any], name: str) -> str:
    return str(_service(compose, name)["image"]).rsplit(":", 1)[1]


def test_same_services_each_with_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "kafka-2", "kafka-3", "connect", "erp", "wms"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    # Nodes 2 and 3 only with `--profile three-brokers`; the rest always.
    profiled = {name for name, service in services.items() if service.get("profiles")}
    assert profiled == {"kafka-2", "kafka-3"}
    assert all(services[n]["profiles"] == ["three-brokers"] for n in profiled)


def test_same_versions(compose: dict[str, Any]) -> None:
    versions = jvm_versions()
    assert _tag(compose, "kafka") == versions.kafka
    assert _tag(compose, "connect") == versions.debezium
    assert _tag(compose, "erp") == str(POSTGRES_MAJOR)
    assert _tag(compose, "wms") == MARIADB_SERIES


def test_local_postgres_is_the_composed_major() -> None:
    bindir = find_bindir()
    assert bindir is not None, "install PostgreSQL (make test does)"
    assert bindir.parent.name == str(POSTGRES_MAJOR)


def test_postgres_cdc_settings(compose: dict[str, Any]) -> None:
    command = _service(compose, "erp")["command"]
    flags = dict(arg.split("=", 1) for arg in command if "=" in arg)
    for key, value in POSTGRES_SETTINGS.items():
        assert flags.get(key) == value, key


def test_mariadb_cdc_settings(compose: dict[str, Any]) -> None:
    command = _service(compose, "wms")["command"]
    flags = dict(arg[2:].split("=", 1) for arg in command)
    for key, value in MARIADB_SETTINGS.items():
        assert flags.get(key) == value, key


#: The variables of `--env-file stack/compose/three-brokers.env`.
THREE_BROKERS_ENV = REPO_ROOT / "stack" / "compose" / "three-brokers.env"


def _env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def _interpolated(value: str, variables: dict[str, str]) -> str:
    """``value`` as compose reads it: ``${NAME:-default}`` from ``variables`` else the default,
    ``$$`` a literal ``$``."""

    def one(match: re.Match[str]) -> str:
        return variables.get(match.group(1)) or match.group(2)

    return re.sub(r"\$\{(\w+):-([^}]*)\}", one, str(value)).replace("$$", "$")


@pytest.mark.parametrize(
    ("settings", "variables"),
    [(KAFKA_SETTINGS, {}), (KAFKA_CLUSTER_SETTINGS, _env_file(THREE_BROKERS_ENV))],
    ids=["one-broker", "three-brokers"],
)
def test_kafka_settings(
    compose: dict[str, Any], settings: dict[str, str], variables: dict[str, str]
) -> None:
    nodes = ["kafka", "kafka-2", "kafka-3"] if variables else ["kafka"]
    for node in nodes:
        env = _service(compose, node)["environment"]
        for key, value in settings.items():
            found = env.get("KAFKA_" + key.upper().replace(".", "_"))
            assert found is not None, key
            assert _interpolated(found, variables) == value, (node, key)


def test_three_brokers_form_one_quorum(compose: dict[str, Any]) -> None:
    variables = _env_file(THREE_BROKERS_ENV)
    voters = {
        _interpolated(_service(compose, n)["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"],
                      variables)
        for n in ("kafka", "kafka-2", "kafka-3")
    }  # fmt: skip
    assert voters == {"1@kafka:19093,2@kafka-2:19093,3@kafka-3:19093"}
    ids = [_service(compose, n)["environment"]["KAFKA_NODE_ID"] for n in ("kafka", "kafka-2",
           "kafka-3")]  # fmt: skip
    assert ids == ["1", "2", "3"]
    connect = _service(compose, "connect")["environment"]
    assert _interpolated(connect["BOOTSTRAP_SERVERS"], variables).count(",") == 2


@pytest.mark.parametrize(
    ("settings", "variables"),
    [(CONNECT_SETTINGS, {}), (connect_settings(3), _env_file(THREE_BROKERS_ENV))],
    ids=["one-broker", "three-brokers"],
)
def test_connect_settings(
    compose: dict[str, Any], settings: dict[str, str], variables: dict[str, str]
) -> None:
    env = _service(compose, "connect")["environment"]
    for key, value in settings.items():
        name = key.upper().replace(".", "_")
        found = env.get(name, env.get("CONNECT_" + name))
        # Compose interpolates `$`: a literal one is written `$$`.
        assert found is not None, key
        assert _interpolated(found, variables) == value, key


def test_cdc_grants_match(compose: dict[str, Any]) -> None:
    init = (REPO_ROOT / "stack" / "compose" / "wms-init.sh").read_text()
    assert f"GRANT {CDC_GRANTS} ON *.* TO 'scv_cdc'" in init
    assert f"GRANT SELECT ON {WMS_DATABASE}.* TO 'scv_cdc'" in init
    assert f"GRANT SELECT, INSERT ON {WMS_CONTROL_DATABASE}.* TO 'scv_cdc'" in init
    assert init.index("SET SESSION sql_log_bin = 0;") < init.index("CREATE USER")


def test_no_secret_value_in_compose() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        match = re.match(r"\s*(\w*(PASSWORD|SALT)\w*):\s*(.+)$", line)
        if match:
            assert match.group(3).startswith("${"), f"literal secret: {line.strip()}"


def test_init_scripts_are_executable() -> None:
    for script in (REPO_ROOT / "stack" / "compose").glob("*.sh"):
        assert Path(script).stat().st_mode & 0o111, script


def test_local_mariadb_is_the_composed_series() -> None:
    import subprocess

    out = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True, check=True)
    assert f"Ver {MARIADB_SERIES}." in out.stdout
