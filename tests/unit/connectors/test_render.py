from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from connectors.errors import RenderError
from connectors.render import RenderContext, bind_secrets, mask_secrets, render, to_json
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


def _pii_spec() -> object:
    text = (DEFAULT_SPECS / "wms.yaml").read_text() + (
        "pii:\n  salt_env: SCV_PII_HASH_SALT\n"
        "  columns: [ORDERS.ConsigneeKey, ORDERS.ExternPOKey]\n"
    )
    return parse_spec(text, "specs/wms.yaml")


def test_pii_hashing_renders_a_salt_reference_not_a_salt() -> None:
    config = render(_pii_spec(), CONTEXT)  # type: ignore[arg-type]
    key = "column.mask.hash.v2.SHA-256.with.salt.${env:SCV_PII_HASH_SALT}"
    assert config[key] == r"wmwhse1\.ORDERS\.ConsigneeKey,wmwhse1\.ORDERS\.ExternPOKey"


def test_bind_puts_the_salt_in_the_key_and_mask_takes_it_out() -> None:
    config = render(_pii_spec(), CONTEXT)  # type: ignore[arg-type]
    bound = bind_secrets(config, SECRETS)
    assert "column.mask.hash.v2.SHA-256.with.salt.salt-secret-5a1t" in bound
    assert bound["database.password"] == "${env:SCV_WMS_CDC_PASSWORD}"  # values stay references
    assert mask_secrets(bound, SECRETS) == config


def test_bind_without_the_secret_fails_clearly() -> None:
    config = render(_pii_spec(), CONTEXT)  # type: ignore[arg-type]
    with pytest.raises(RenderError, match="needs secret SCV_PII_HASH_SALT"):
        bind_secrets(config, {})


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
    text = result.output + caplog.text
    for value in SECRETS.values():
        assert value not in text
