from __future__ import annotations

import pytest

from connectors.errors import SpecError, UnknownConnector
from connectors.specs import MariaDbSpec, PostgresSpec, load_specs, parse_spec, select
from legacy_sim.schemas import CAPTURED_TABLES


def _shipped_text(name: str) -> str:
    from connectors.specs import DEFAULT_SPECS

    return (DEFAULT_SPECS / f"{name}.yaml").read_text()


def test_shipped_specs_load_one_per_source() -> None:
    specs = load_specs()
    assert isinstance(specs["erp"], PostgresSpec)
    assert isinstance(specs["wms"], MariaDbSpec)
    assert {s.topic_prefix for s in specs.values()} == {"erp", "wms"}


@pytest.mark.parametrize("system", ["erp", "wms"])
def test_specs_capture_exactly_the_simulators_tables(system: str) -> None:
    spec = load_specs()[system]
    assert set(spec.qualified_tables) == set(CAPTURED_TABLES[system])


def test_unknown_key_is_rejected_with_its_path() -> None:
    text = _shipped_text("erp").replace("slot: scv_erp", "slot: scv_erp\nslott: typo")
    with pytest.raises(SpecError, match=r"specs/erp.yaml: slott: Extra inputs"):
        parse_spec(text, "specs/erp.yaml")


def test_nested_unknown_key_is_rejected() -> None:
    text = _shipped_text("erp").replace("  owner: scv_owner", "  owner: scv_owner\n  pasword: x")
    with pytest.raises(SpecError, match=r"database.pasword"):
        parse_spec(text, "specs/erp.yaml")


@pytest.mark.parametrize(
    "key", ["database.password", "auth.token", "sasl.jaas.config", "aws.access.key.id"]
)
def test_a_secret_in_extra_is_refused(key: str) -> None:
    text = _shipped_text("wms") + f"extra:\n  {key}: hunter2\n"
    with pytest.raises(SpecError, match="looks like a secret"):
        parse_spec(text, "specs/wms.yaml")


def test_connector_class_must_fit_the_kind() -> None:
    text = _shipped_text("wms").replace(
        "io.debezium.connector.mariadb.MariaDbConnector",
        "io.debezium.connector.postgresql.PostgresConnector",
    )
    with pytest.raises(SpecError, match="connector_class must be one of"):
        parse_spec(text, "specs/wms.yaml")


def test_mysql_connector_class_is_accepted_for_mariadb() -> None:
    text = _shipped_text("wms").replace(
        "io.debezium.connector.mariadb.MariaDbConnector",
        "io.debezium.connector.mysql.MySqlConnector",
    )
    assert parse_spec(text, "specs/wms.yaml").connector_class.endswith("MySqlConnector")


def test_name_must_match_file() -> None:
    with pytest.raises(SpecError, match="must match the file name"):
        parse_spec(_shipped_text("erp"), "specs/erp2.yaml")


def test_pii_columns_must_be_in_captured_tables() -> None:
    text = _shipped_text("wms") + "pii:\n  salt_env: SCV_PII_HASH_SALT\n  columns: [NOPE.Name]\n"
    with pytest.raises(SpecError, match="not in a captured table"):
        parse_spec(text, "specs/wms.yaml")


def test_not_yaml() -> None:
    with pytest.raises(SpecError, match="not valid YAML"):
        parse_spec("name: [", "specs/x.yaml")


def test_select_unknown_name() -> None:
    with pytest.raises(UnknownConnector, match="known: erp, wms"):
        select(load_specs(), "crm")


def test_raw_topic_retention_is_stated_in_each_spec() -> None:
    for spec in load_specs().values():
        assert spec.topics.retention_ms == 7 * 24 * 3600 * 1000
    text = _shipped_text("erp").replace("retention_ms: 604800000", "retention_ms: -1")
    assert parse_spec(text, "specs/erp.yaml").topics.retention_ms == -1


@pytest.mark.parametrize("value", ["0", "-2", "60000"])
def test_a_raw_retention_shorter_than_an_hour_is_refused(value: str) -> None:
    text = _shipped_text("erp").replace("retention_ms: 604800000", f"retention_ms: {value}")
    with pytest.raises(SpecError, match=r"specs/erp.yaml: topics: .*retention_ms must be -1"):
        parse_spec(text, "specs/erp.yaml")


def test_the_shipped_specs_follow_the_local_stacks_ports() -> None:
    env = {"SCV_POSTGRES_PORT": "25432", "SCV_MARIADB_PORT": "23306"}
    erp = parse_spec(_shipped_text("erp"), "specs/erp.yaml", env)
    wms = parse_spec(_shipped_text("wms"), "specs/wms.yaml", env)
    assert (erp.database.port, wms.database.port) == (25432, 23306)
    defaults = parse_spec(_shipped_text("erp"), "specs/erp.yaml", {})
    assert defaults.database.port == 15432


def test_an_address_variable_without_default_must_be_set() -> None:
    text = _shipped_text("erp").replace("${SCV_POSTGRES_PORT:-15432}", "${ERP_PORT}")
    assert parse_spec(text, "specs/erp.yaml", {"ERP_PORT": "5432"}).database.port == 5432
    with pytest.raises(SpecError, match=r"database: \$\{ERP_PORT\} is not set"):
        parse_spec(text, "specs/erp.yaml", {})


def test_only_the_address_may_name_a_variable() -> None:
    text = _shipped_text("erp").replace("user: scv_cdc", "user: ${CDC_USER:-scv_cdc}")
    with pytest.raises(SpecError, match=r"database\.user"):
        parse_spec(text, "specs/erp.yaml", {})
