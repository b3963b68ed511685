from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from connectors.errors import RenderError
from connectors.render import RenderContext, mask_secrets, render, to_json
from connectors.specs import DEFAULT_SPECS, load_specs, parse_spec

GOLDEN = Path(__file__).parent / "golden"
CONTEXT = RenderContext(kafka_bootstrap="kafka.example:9092")
SECRETS = {
    "SCV_ERP_CDC_PASSWORD": "erp-secret-Pa55",
    "SCV_WMS_CDC_PASSWORD": "wms-secret-Pa55",
    "SCV_PII_HASH_SALT": "salt-secret-5a1t",
}


@pytest.mark.parametrize("name", ["erp", "wms"])
def test_rendered_config_matches_golden_file(name: str) -> None:
    """Regenerate with SCV_UPDATE_GOLDEN=1 after a deliberate template or spec change."""
    rendered = to_json(render(load_specs()[name], CONTEXT))
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("SCV_UPDATE_GOLDEN") == "1":
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_pii_hashing_is_the_hash_transform_with_the_salt_as_a_reference_value() -> None:
    config = render(load_specs()["wms"], CONTEXT)
    assert config["transforms"] == "pii"
    assert config["transforms.pii.type"] == "dev.scv.connect.transforms.HashPii"
    assert config["transforms.pii.secret"] == "${env:SCV_PII_HASH_SALT}"
    assert config["transforms.pii.fields"] == (
        "wmwhse1.ORDERS.C_Company,wmwhse1.ORDERS.C_Address1,wmwhse1.ORDERS.C_City"
    )
    # Debezium's own hashing would carry the salt in a property name: never rendered.
    assert not [k for k in config if k.startswith("column.mask.hash")]


def test_a_postgres_spec_renders_the_same_transform_qualified_by_schema() -> None:
    text = (DEFAULT_SPECS / "erp.yaml").read_text() + (
        "pii:\n  salt_env: SCV_PII_HASH_SALT\n  columns: [f4211.sdvr01]\n"
    )
    config = render(parse_spec(text, "specs/erp.yaml"), CONTEXT)
    assert config["transforms.pii.fields"] == "proddta.f4211.sdvr01"
    assert config["transforms.pii.secret"] == "${env:SCV_PII_HASH_SALT}"


def test_a_secret_reference_in_a_key_is_refused() -> None:
    text = (
        (DEFAULT_SPECS / "wms.yaml")
        .read_text()
        .replace("extra:\n", 'extra:\n  "x.${env:SCV_OTHER}": "1"\n')
    )
    with pytest.raises(RenderError, match="secret reference in a key"):
        render(parse_spec(text, "specs/wms.yaml"), CONTEXT)


def _with_extra(name: str, lines: str) -> str:
    return (DEFAULT_SPECS / f"{name}.yaml").read_text().replace("extra:\n", f"extra:\n{lines}")


def test_extra_may_not_turn_pii_hashing_off() -> None:
    spec = parse_spec(_with_extra("wms", '  transforms: ""\n'), "specs/wms.yaml")
    with pytest.raises(
        RenderError, match=r"extra may not override keys the template sets: transforms$"
    ):
        render(spec, CONTEXT)


@pytest.mark.parametrize("name", ["erp", "wms"])
def test_extra_may_not_override_any_template_key_and_every_one_is_named(name: str) -> None:
    lines = '  database.hostname: "evil"\n  topic.creation.default.partitions: "1"\n'
    spec = parse_spec(_with_extra(name, lines), f"specs/{name}.yaml")
    with pytest.raises(RenderError) as err:
        render(spec, CONTEXT)
    assert str(err.value) == (
        f"{name}: extra may not override keys the template sets: "
        "database.hostname, topic.creation.default.partitions"
    )


def test_extra_adds_keys_the_template_does_not_set() -> None:
    config = render(load_specs()["erp"], CONTEXT)
    assert config["poll.interval.ms"] == "50"
    assert config["message.key.columns"] == "proddta.f4211:sdkcoo,sddoco,sddcto"


def test_mask_replaces_a_deployed_secret_value_by_its_reference() -> None:
    config = render(load_specs()["wms"], CONTEXT)
    leaked = {**config, "transforms.pii.secret": SECRETS["SCV_PII_HASH_SALT"]}
    assert mask_secrets(leaked, SECRETS) == config


def test_every_secret_goes_under_a_name_debezium_masks_in_its_task_log() -> None:
    # Debezium prints every property when a task starts and masks only these names
    # (io.debezium.config.Configuration.PASSWORD_PATTERN); the values are resolved by then.
    masked = re.compile(r".*secret$|.*password$|.*sasl\.jaas\.config$")
    for spec in load_specs().values():
        for key, value in render(spec, CONTEXT).items():
            if "${env:" in value:
                assert masked.fullmatch(key), f"{spec.name}: {key} would be logged in clear"


def test_every_value_is_a_string_and_passwords_are_references() -> None:
    for spec in load_specs().values():
        config = render(spec, CONTEXT)
        assert all(isinstance(v, str) for v in config.values())
        assert config["database.password"] == f"${{env:{spec.database.password_env}}}"


def test_render_command_and_logs_never_contain_a_secret(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from scv.cli import cli

    monkeypatch.setenv("SCV_CONNECTORS_SECRETS", orjson.dumps(SECRETS).decode())
    monkeypatch.setenv(
        "SCV_CONNECTORS_OWNER_DSNS",
        orjson.dumps({"erp": "postgresql://o:erp-secret-Pa55@h:1/erp"}).decode(),
    )
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["connectors", "render"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert '"topic.prefix": "erp"' in result.output
    assert '"transforms.pii.secret": "${env:SCV_PII_HASH_SALT}"' in result.output
    text = result.output + caplog.text
    for value in SECRETS.values():
        assert value not in text


def test_the_raw_topics_retention_is_the_specs() -> None:
    text = (DEFAULT_SPECS / "wms.yaml").read_text().replace("604800000", "-1")
    config = render(parse_spec(text, "specs/wms.yaml"), CONTEXT)
    assert config["topic.creation.default.retention.ms"] == "-1"
    assert config["topic.creation.default.retention.bytes"] == "-1"
