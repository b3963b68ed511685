"""The audited verbs fail closed: without the audit database they do not act (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scv.cli import cli
from scv.errors import run_with_boundary

PASSWORD = "Zq9-audit-s3cret"


@pytest.mark.parametrize(
    "args",
    [
        ["connectors", "pause", "erp"],
        ["connectors", "delete", "wms"],
        ["connectors", "snapshot", "erp", "--table", "f4101"],
        ["sim", "init"],
    ],
)
def test_an_audited_verb_without_its_audit_database_does_not_run(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SCV_STATE_DIR", str(tmp_path / "state"))
    # Port 1 on loopback: nothing listens, so the connection is refused at once.
    monkeypatch.setenv("SCV_STORE_DSN", f"postgresql://scv_store:{PASSWORD}@127.0.0.1:1/scv")
    # Connect and the databases would be reached only after the audit row: none of them is
    # there, so any attempt to act would fail differently (and later) than the audit.
    monkeypatch.setenv("SCV_CONNECTORS_CONNECT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("SCV_CONNECTORS_RETRY_FOR", "0")
    with pytest.raises(SystemExit) as done:
        run_with_boundary(lambda: cli.main(args, standalone_mode=False))
    err = capsys.readouterr().err
    assert done.value.code == 3, err
    assert "cannot connect to the audit database" in err
    assert f"`{' '.join(args[:2])}` was not run" in err
    assert PASSWORD not in err
