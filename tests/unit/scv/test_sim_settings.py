"""The simulator's DSNs from the environment are checked before a driver sees them."""

from __future__ import annotations

import pytest

from legacy_sim.errors import SimConfigError
from scv.commands.sim import _settings

GOOD = "postgresql+psycopg://scv_owner:s3cr3t@127.0.0.1:15432/erp"


def test_a_malformed_dsn_names_its_variable_and_not_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCV_SIM_ERP_DSN", GOOD)
    monkeypatch.setenv("SCV_SIM_WMS_DSN", "mysql+pymysql://scv_owner:p@ss:w0rd@127.0.0.1:1/w")
    monkeypatch.setenv("SCV_SIM_STORE_DSN", GOOD)
    with pytest.raises(SimConfigError, match=r"^SCV_SIM_WMS_DSN: ") as err:
        _settings()
    assert err.value.exit_code == 2
    assert "w0rd" not in str(err.value)


def test_well_formed_dsns_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ERP", "WMS", "STORE"):
        monkeypatch.setenv(f"SCV_SIM_{name}_DSN", GOOD)
    assert _settings().erp_dsn.get_secret_value() == GOOD
