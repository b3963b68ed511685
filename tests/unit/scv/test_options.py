"""A DSN option reads the environment; a password on the command line is refused."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from scv.cli import cli
from scv.options import dsn_option


@click.command()
@dsn_option("--erp-dsn", "SCV_ERP_DSN", "The ERP")
def show(erp_dsn: str | None) -> None:
    click.echo(f"got {erp_dsn is not None}")


def test_a_password_on_the_command_line_is_refused_without_being_echoed() -> None:
    result = CliRunner().invoke(show, ["--erp-dsn", "postgresql://u:s3cr3t@h:5432/erp"])
    assert result.exit_code == 2
    assert "set SCV_ERP_DSN in the environment instead" in result.output
    assert "s3cr3t" not in result.output


def test_the_environment_is_the_way_and_a_dsn_without_password_may_be_given() -> None:
    runner = CliRunner()
    from_env = runner.invoke(show, [], env={"SCV_ERP_DSN": "postgresql://u:s3cr3t@h:5432/erp"})
    assert (from_env.exit_code, from_env.output) == (0, "got True\n")
    no_password = runner.invoke(show, ["--erp-dsn", "postgresql://u@h:5432/erp"], env={})
    assert (no_password.exit_code, no_password.output) == (0, "got True\n")


def test_a_malformed_dsn_is_refused_without_being_echoed() -> None:
    result = CliRunner().invoke(
        show, [], env={"SCV_ERP_DSN": "postgresql://u:p@ss:w0rd@h:5432/erp"}
    )
    assert result.exit_code == 2
    assert "w0rd" not in result.output


@pytest.mark.parametrize(
    ("verb", "flags"),
    [
        (["pipeline", "run"], ["--erp-dsn"]),
        (["quarantine", "replay"], ["--erp-dsn"]),
        (["reconcile"], ["--erp-dsn", "--wms-dsn"]),
    ],
)
def test_every_dsn_option_says_it_reads_the_environment(verb: list[str], flags: list[str]) -> None:
    result = CliRunner().invoke(cli, [*verb, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in flags:
        env = "SCV_ERP_READ_DSN" if "erp" in flag else "SCV_WMS_DSN"
        assert flag in result.output
        assert f"${env}" in result.output
    assert "password stays off the" in " ".join(result.output.split())
