"""``scv sim batch`` against the real legacy databases, after a short simulated run.

The fixture re-initialises the simulated databases (as ``scv sim init`` does, without touching
the pipeline), runs a short simulation, then runs the nightly batch twice at the same cut-off:
with its defects and without them. The files must parse with Bots (strict X12 4010 grammars),
their control numbers and counts must agree with the envelope and the manifest, the manifest
must list the defects that fired, the 846 without defects must be the ERP book, every shipment
and receipt of the run must be in the batch, and ``scv edi parity`` of the batch against the
defect-free batch (standing in for a perfect stream) must explain every difference.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import edi_parser
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from edi.parity import records_of
from edi.profile import load_partners
from edi.x12read import read_interchanges
from legacy_sim import expected, runner
from legacy_sim.settings import SimSettings
from scv.cli import cli

INIT_SEED = 1818
OPTIONS = runner.RunOptions(rate=40, duration=10, seed=18, anomaly_rate=0.02, rollback_rate=0.02)


@dataclass
class Batches:
    at: datetime
    with_defects: Path
    without: Path
    manifest: dict[str, Any]
    ledger: list[dict[str, Any]]
    settings: SimSettings
    env: dict[str, str]


def _env(endpoints: dict[str, str]) -> dict[str, str]:
    return {
        "SCV_SIM_ERP_DSN": endpoints["SCV_ERP_DSN"],
        "SCV_SIM_WMS_DSN": endpoints["SCV_WMS_DSN"],
        "SCV_SIM_STORE_DSN": endpoints["SCV_STORE_DSN"],
    }


@pytest.fixture(scope="module")
def batches(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Batches:
    settings = SimSettings(
        erp_dsn=endpoints["SCV_ERP_DSN"],
        wms_dsn=endpoints["SCV_WMS_DSN"],
        store_dsn=endpoints["SCV_STORE_DSN"],
    )
    runner.init(settings, INIT_SEED, "demo", lambda _n: None)
    stats = runner.run(settings, OPTIONS)
    store = create_engine(endpoints["SCV_STORE_DSN"])
    with store.connect() as conn:
        ledger = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT kind, committed, committed_at, keys, events FROM sim.transactions "
                    "WHERE run_id = :r ORDER BY seq"
                ),
                {"r": stats.run_id},
            )
        ]
    store.dispose()
    at = datetime.now(UTC).replace(microsecond=0)
    root = tmp_path_factory.mktemp("batch")
    env = _env(endpoints)
    for name, extra in (("with", []), ("without", ["--no-defects"])):
        result = CliRunner().invoke(
            cli,
            ["sim", "batch", "--at", at.isoformat(), "--out", str(root / name), *extra],
            env=env,
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
    manifest = json.loads((root / "with" / "manifest.json").read_text())
    return Batches(at, root / "with", root / "without", manifest, ledger, settings, env)


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*/*.x12"))


def test_every_file_parses_with_bots_and_its_envelope_adds_up(batches: Batches) -> None:
    logging.getLogger("edi_parser").disabled = True
    listed = {f["path"]: f for f in batches.manifest["files"]}
    assert set(listed) == {
        p.relative_to(batches.with_defects).as_posix() for p in _files(batches.with_defects)
    }
    for path in _files(batches.with_defects) + _files(batches.without):
        data = path.read_text(encoding="ascii")
        result = edi_parser.parse_edi(
            data, editype="x12", messagetype="x12", field_validation_mode="strict"
        )
        assert result["success"], f"{path}: {result['errors']}"
        (interchange,) = read_interchanges(data.encode())  # counts and control numbers checked
        control = int(interchange.control)
        assert [int(g.control) for g in interchange.groups] == [control]
        if path.parent.parent == batches.with_defects:
            entry = listed[path.relative_to(batches.with_defects).as_posix()]
            assert (entry["control"], entry["sets"]) == (control, len(interchange.sets))


def test_the_manifest_lists_the_defects_that_fired(batches: Batches) -> None:
    manifest = batches.manifest
    assert manifest["at"] == batches.at.isoformat().replace("+00:00", "Z")
    fired = Counter(f["defect"] for f in manifest["fired"])
    for name, info in manifest["defects"].items():
        assert info["enabled"] is True
        assert info["fired"] == fired.get(name, 0), name
    # A 10-second run leaves picked cartons in the stage lanes and ships case lines.
    assert fired["stage_lanes_excluded"] + fired["ordered_in_order_unit"] > 0, fired
    for name in ("erp_book", "wms_bins", "wms_orders", "wms_orders_control", "erp_receipts"):
        assert name in manifest["reads"]
    assert set(manifest["observed"]) == {"846", "856", "944", "945"}


def test_without_defects_the_846_is_the_erp_book(batches: Batches) -> None:
    profiles = load_partners()
    erp = create_engine(batches.settings.erp_dsn.get_secret_value())
    with erp.connect() as conn:
        book = expected.erp_positions(conn)
    erp.dispose()
    compared = 0
    for path in _files(batches.without):
        if not path.name.startswith("846"):
            continue
        partner = path.parent.name
        zone = ZoneInfo(profiles[partner].formats.time_zone)
        for interchange in read_interchanges(path.read_bytes()):
            records, problems = records_of(interchange, partner=partner, file=path.name, zone=zone)
            assert not problems
            for record in records:
                for (item,), line in record.lines.items():
                    position = book[(record.key, item)]
                    assert Decimal(line["QTY17"]) == position.on_hand
                    assert (
                        Decimal(line["QTY02"]) == position.soft_committed + position.hard_committed
                    )
                    compared += 1
    assert compared > 0


def test_every_shipment_and_receipt_of_the_run_is_in_the_batch(batches: Batches) -> None:
    text_ = "".join(p.read_text() for p in _files(batches.without))
    shipped = [
        e["key"]
        for r in batches.ledger
        if r["committed"] and r["kind"] == "ship"
        for e in r["events"]
        if e["type"] == "shipment.dispatched"
    ]
    assert shipped
    # An item without GTIN, for a partner that requires one: the batch without its defects
    # refuses the document as the stream does; only the defective batch sends it (and says so).
    refused = {
        f["key"]
        for f in batches.manifest["fired"]
        if f["defect"] == "gtin_not_enforced" and f["document"] in ("856", "945")
    }
    defective = "".join(p.read_text() for p in _files(batches.with_defects))
    for shipment in shipped:
        assert shipment in (defective if shipment in refused else text_), shipment
    for r in batches.ledger:
        if not (r["committed"] and r["kind"] == "receipt"):
            continue
        sites = {
            e["key"].split("|")[0] for e in r["events"] if e["type"] == "inventory.level_changed"
        }
        if sites == {"30001"}:  # the cold DC: northwind's 944 (W17 receiver number, PO)
            assert f"|{r['keys']['prdoc']}|{r['keys']['po_id']}~" in text_, r["keys"]


def test_parity_of_the_batch_against_itself_without_defects_is_explained(
    batches: Batches, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "edi",
            "parity",
            "--batch",
            str(batches.with_defects),
            "--stream",
            str(batches.without),
            "--out",
            str(tmp_path / "parity"),
        ],
        env=batches.env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "parity" / "parity.json").read_text())
    assert summary["totals"]["unexplained"] == 0
    assert summary["totals"]["batch_defect"] > 0
    assert summary["totals"]["documents_matched"] > 0


def test_a_cut_off_in_the_future_is_refused(batches: Batches, tmp_path: Path) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    result = CliRunner().invoke(
        cli, ["sim", "batch", "--at", future, "--out", str(tmp_path / "x")], env=batches.env
    )
    assert result.exit_code != 0
    assert not (tmp_path / "x").exists()
