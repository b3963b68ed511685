"""``scv edi parity`` and ``scv sim batch``'s
option checks: exit codes and one-line errors, with no database (``--no-ledger``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from legacy_sim.errors import SimConfigError
from legacy_sim.ledger import CommitFact
from scv.cli import cli
from scv.commands.edi_parity import commit_of

from ..edi import paritydata as pd
from ..edi.test_parity_report import _write

T = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def test_ledger_facts_become_the_parity_s_commits() -> None:
    ship = commit_of(
        CommitFact("ship", T, {"order_id": "o", "shipment_id": "0000000007"}, ("20001|BOLT",))
    )
    assert ship.origins == {"shipment:0000000007"}
    assert ship.subjects == {"inventory:20001|BOLT"}
    receipt = commit_of(CommitFact("receipt", T, {"po_id": "00020-OP-4711", "prdoc": 80001}, ()))
    assert receipt.origins == {"receipt:00020-OP-4711/80001"}
    reversal = commit_of(
        CommitFact("receipt_reversal", T, {"po_id": "00020-OP-4711", "prdoc": 80001}, ())
    )
    assert (reversal.origins, reversal.subjects) == (
        frozenset(),
        frozenset({"receipt:00020-OP-4711/80001"}),
    )
    assert commit_of(CommitFact("order_entry", T, {"order_id": "o"}, ())).origins == frozenset()


def _dirs(tmp_path: Path, stream: dict[str, bytes]) -> tuple[Path, Path]:
    files, _, raw = pd.batch_side()
    batch = _write(tmp_path / "batch", files)
    (batch / "manifest.json").write_text(json.dumps(raw))
    return batch, _write(tmp_path / "outbox", stream)


def test_parity_exits_0_when_everything_is_explained_and_1_otherwise(tmp_path: Path) -> None:
    batch, stream = _dirs(tmp_path, pd.stream_files())
    ok = CliRunner().invoke(
        cli, ["edi", "parity", "--batch", str(batch), "--stream", str(stream), "--no-ledger"]
    )
    assert ok.exit_code == 0, ok.output
    assert "0 unexplained" in ok.output
    assert (tmp_path / "batch-parity" / "index.html").is_file()
    missing = pd.without(pd.stream_files(), "acme-retail/856-1.x12")
    batch, stream = _dirs(tmp_path / "two", missing)
    bad = CliRunner().invoke(
        cli,
        ["edi", "parity", "--batch", str(batch), "--stream", str(stream), "--no-ledger",
         "--out", str(tmp_path / "r")],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "1 unexplained" in bad.output


def test_parity_needs_a_stream_directory() -> None:
    result = CliRunner().invoke(
        cli, ["edi", "parity", "--batch", "b"], env={"SCV_EDI_OUTBOX_DIR": ""}
    )
    assert result.exit_code == 2
    assert "--stream" in result.output


def test_sim_batch_lists_and_checks_its_defects() -> None:
    listed = CliRunner().invoke(cli, ["sim", "batch", "--list-defects"])
    assert listed.exit_code == 0
    assert "stage_lanes_excluded" in listed.output
    wrong = CliRunner().invoke(cli, ["sim", "batch", "--without", "nope"])
    assert wrong.exit_code == 2
    assert "unknown defect nope" in wrong.output


def test_sim_batch_refuses_a_cut_off_in_the_future_before_touching_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def settings() -> None:
        raise AssertionError("the settings were resolved before the options were checked")

    monkeypatch.setattr("scv.commands.sim._settings", settings)
    result = CliRunner().invoke(
        cli, ["sim", "batch", "--at", "2999-01-01T00:00:00Z", "--out", str(tmp_path / "o")]
    )
    assert isinstance(result.exception, SimConfigError)
    assert "in the future" in str(result.exception)
    assert not (tmp_path / "o").exists()
    bad = CliRunner().invoke(cli, ["sim", "batch", "--at", "yesterday"])
    assert bad.exit_code == 2
    assert "not an ISO 8601 time" in bad.output
