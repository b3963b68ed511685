"""One ranking for every stage's settings: option given > environment > CLI default > class."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from scv.options import split_given
from scv.settings import (
    build,
    connectors_settings,
    environment_fields,
    quality_settings,
    sim_settings,
    transforms_settings,
    views_settings,
)


class Toy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_TOY_", frozen=True, extra="ignore")

    a: str = "class"
    b: str = "class"
    c: str = Field(default="class", validation_alias=AliasChoices("SCV_TOY_C", "SCV_C"))
    d: int = Field(default=1, ge=0)


@pytest.fixture(autouse=True)
def no_scv_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("SCV_"):
            monkeypatch.delenv(name)
    state = tmp_path / "state"
    monkeypatch.setenv("SCV_STATE_DIR", str(state))
    return state


def _never() -> object:
    raise AssertionError("a default computed although the field was set")


def test_an_option_given_beats_the_environment_which_beats_a_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCV_TOY_A", "env")
    monkeypatch.setenv("SCV_TOY_B", "env")
    toy = build(
        Toy,
        options={"a": "option", "b": None},
        defaults={"a": _never, "b": _never, "c": lambda: "default", "d": lambda: None},
    )
    assert (toy.a, toy.b, toy.c, toy.d) == ("option", "env", "default", 1)


def test_an_alias_counts_as_the_environment_and_a_default_reaches_an_aliased_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert build(Toy, defaults={"c": lambda: "default"}).c == "default"
    monkeypatch.setenv("SCV_C", "env")
    assert environment_fields(Toy) == {"c"}
    assert build(Toy, defaults={"c": _never}).c == "env"


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCV_TOY_A", "")
    assert environment_fields(Toy) == frozenset()
    assert build(Toy, defaults={"a": lambda: "default"}).a == "default"


def test_an_invalid_value_is_a_usage_error_that_names_the_field_not_the_value() -> None:
    with pytest.raises(click.UsageError, match=r"invalid settings \(Toy\): d: ") as err:
        build(Toy, options={"d": -12345})
    assert "12345" not in str(err.value)


def test_the_simulator_takes_each_dsn_from_the_environment_else_from_the_stack(
    monkeypatch: pytest.MonkeyPatch, no_scv_environment: Path
) -> None:
    dsn = "postgresql+psycopg://scv_owner:pw@db.example:5432/erp"
    for name in ("ERP", "WMS", "STORE"):
        monkeypatch.setenv(f"SCV_SIM_{name}_DSN", dsn)
    assert sim_settings().wms_dsn.get_secret_value() == dsn
    assert not no_scv_environment.exists()  # the stack was not asked
    monkeypatch.delenv("SCV_SIM_WMS_DSN")
    settings = sim_settings()
    assert settings.erp_dsn.get_secret_value() == dsn
    assert settings.wms_dsn.get_secret_value().startswith("mysql+pymysql://")


def test_the_views_use_a_local_stack_only_if_there_is_one(no_scv_environment: Path) -> None:
    assert views_settings().store_dsn is None
    assert not no_scv_environment.exists()
    no_scv_environment.mkdir()
    store = views_settings("other").store_dsn
    assert store is not None
    assert store.get_secret_value().startswith("postgresql+psycopg://")
    assert views_settings("other").db_schema == "other"


def test_connectors_set_by_the_environment_leave_the_stack_alone(
    monkeypatch: pytest.MonkeyPatch, no_scv_environment: Path
) -> None:
    monkeypatch.setenv("SCV_CONNECTORS_SECRETS", '{"SCV_ERP_CDC_PASSWORD": "x"}')
    monkeypatch.setenv("SCV_CONNECTORS_OWNER_DSNS", '{"erp": "postgresql://o@h/erp"}')
    monkeypatch.setenv("SCV_CONNECTORS_CONNECT_URL", "http://connect:8083")
    settings = connectors_settings()
    assert settings.connect_url == "http://connect:8083"
    assert settings.secret_values() == {"SCV_ERP_CDC_PASSWORD": "x"}
    assert settings.kafka_bootstrap == "127.0.0.1:19092"  # the stack's, from its settings
    assert not no_scv_environment.exists()


def test_only_options_given_on_the_command_line_count_as_given() -> None:
    seen: list[tuple[dict[str, object], dict[str, object]]] = []

    @click.command()
    @click.option("--quick", is_flag=True)
    @click.option("--instances", type=int, default=1)
    def command(quick: bool, instances: int) -> None:
        seen.append(split_given(click.get_current_context(), quick=quick, instances=instances))

    CliRunner().invoke(command, ["--instances", "2"], catch_exceptions=False)
    assert seen == [({"instances": 2}, {"quick": False})]


def test_the_stages_reach_the_local_stacks_kafka_on_its_own_port(
    no_scv_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a stack, the class default; with one on other ports, its broker, not 19092's.
    assert transforms_settings().kafka_bootstrap == "127.0.0.1:19092"
    no_scv_environment.mkdir()
    monkeypatch.setenv("SCV_KAFKA_PORT", "29092")
    reached = {
        transforms_settings().kafka_bootstrap,
        views_settings().kafka_bootstrap,
        quality_settings().kafka_bootstrap,
    }
    assert reached == {"127.0.0.1:29092"}
    monkeypatch.setenv("SCV_KAFKA_BOOTSTRAP", "broker:9092")
    assert transforms_settings().kafka_bootstrap == "broker:9092"
