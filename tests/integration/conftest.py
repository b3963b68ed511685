"""Fixtures for tests against the real local stack.

The stack is started by the test command (``make test`` / ``.ci/run``) before pytest runs; a
test never starts or stops it. If it is not up, every integration test fails (never skips) with
the command to run, so a missing stack cannot pass as green.
"""

from __future__ import annotations

import pytest

from stack import launcher
from stack.credentials import Credentials, load_or_create
from stack.endpoints import exports
from stack.settings import StackSettings


@pytest.fixture(scope="session")
def stack_settings() -> StackSettings:
    settings = StackSettings()
    down = [s.name for s in launcher.status(settings) if s.state != "running"]
    if down:
        pytest.fail(f"the local stack is not running ({', '.join(down)}): run `scv stack up` first")
    return settings


@pytest.fixture(scope="session")
def credentials(stack_settings: StackSettings) -> Credentials:
    return load_or_create(stack_settings.state_dir)


@pytest.fixture(scope="session")
def endpoints(stack_settings: StackSettings, credentials: Credentials) -> dict[str, str]:
    """SCV_KAFKA_BOOTSTRAP, SCV_CONNECT_URL, SCV_ERP_DSN, SCV_WMS_DSN, SCV_STORE_DSN."""
    return exports(stack_settings, credentials)


@pytest.fixture(scope="session")
def legacy_schemas(endpoints: dict[str, str]) -> None:
    """The simulator's legacy schemas exist: ``scv sim init`` once if ``proddta`` is missing.

    Tests that only need the captured tables to exist (the connectors) use this; tests of the
    simulator itself run their own ``init``.
    """
    import psycopg
    from click.testing import CliRunner

    from scv.cli import cli

    dsn = endpoints["SCV_ERP_DSN"].replace("+psycopg", "")
    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT to_regclass('proddta.f4211')").fetchone()
    if found is None or found[0] is None:
        result = CliRunner().invoke(cli, ["sim", "init", "--seed", "1"], catch_exceptions=False)
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def connectors_applied(legacy_schemas: None) -> None:
    """Both Debezium connectors deployed and RUNNING (``scv connectors apply``, idempotent)."""
    from click.testing import CliRunner

    from scv.cli import cli

    result = CliRunner().invoke(cli, ["connectors", "apply"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
