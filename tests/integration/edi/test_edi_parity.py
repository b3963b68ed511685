"""The cut-over chain on the real stack: the stream's EDI against the nightly batch, by parity.

The module fixture does what a team running both side by side does, through the CLI:
``scv sim init`` (it resets the shared legacy databases), ``scv connectors apply`` and the
snapshots of the item tables and the ERP balances (the opening stock reaches Kafka only by a
snapshot), a simulated business day and ``scv pipeline run --until-idle`` up to the cut-off
T, then more business after T and the pipeline again (so the stream holds documents the batch
cannot: timing differences), ``scv edi run --until-idle`` with its own schema and outbox,
``scv edi emit 846 --as-of T`` for each partner that takes an 846, and ``scv edi parity``
between the batch and the stream's outbox. The batch (``scv sim batch --at T``, defects on)
runs at the cut-off, before the business after it, as the nightly job does.

The batch's window starts when this test's world was created (``--since``): the ledger of
the shared store also holds earlier worlds, whose document numbers this world reuses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from chain import edi_env, namespaced_env, scv, seed_world, start_group
from rawtopics import settled_ends, wait_quiet

from edi.profile import load_partners

#: A business day long enough that every document type and most batch defects occur. No
#: anomalies: data the gate quarantines is a difference of its own (the batch sends what the
#: stream refused), not the batch defects and timing this test is about.
DAY = ("--rate", "40", "--duration", "20", "--seed", "18")
#: Business after the cut-off: on the stream, not in the batch.
AFTER = ("--rate", "40", "--duration", "5", "--seed", "19")


@dataclass(frozen=True)
class CutOver:
    at: datetime
    batch: Path
    outbox: Path
    manifest: dict[str, Any]
    parity: dict[str, Any]
    report: Path
    returncode: int
    output: str


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def cut_over(
    endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CutOver]:
    env = namespaced_env(endpoints, tag="itp")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    schema = run.replace("-", "_")
    root = tmp_path_factory.mktemp(run)
    outbox, batch, report = root / "outbox", root / "batch", root / "parity"
    env |= edi_env(endpoints, run, outbox)
    # `edi emit 846 --as-of T` replays the pipeline's topics with the views' arithmetic
    env["SCV_VIEWS_TOPIC_PREFIX"] = f"{run}."
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start_group(bootstrap, f"{run}-group", settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"]))
    since = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1)
    seed_world(env, 1818, snapshots=("f4101", "f41002", "f41021"))
    scv(env, "sim", "run", *DAY)
    wait_quiet(bootstrap)
    # The stream as of T is what its topics held at T (`edi emit --as-of` replays them by
    # publish time): the day's events are published before the cut-off.
    scv(env, "pipeline", "run", "--until-idle")
    time.sleep(1)
    at = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1)
    # The nightly job runs at its cut-off, as it does in production: what it reads is the
    # legacy databases at T, so its defects are not mixed with the business after T.
    scv(env, "sim", "batch", "--at", _iso(at), "--since", _iso(since), "--out", str(batch))
    scv(env, "sim", "run", *AFTER)
    wait_quiet(bootstrap)
    scv(env, "pipeline", "run", "--until-idle")
    scv(env, "edi", "run", "--until-idle")
    for partner, profile in sorted(load_partners().items()):
        if "846" in profile.documents:
            _emit_846(env, partner, at)
    done = subprocess.run(
        [sys.executable, "-m", "scv", "edi", "parity", "--batch", str(batch),
         "--stream", str(outbox), "--at", _iso(at), "--out", str(report)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    yield CutOver(
        at=at,
        batch=batch,
        outbox=outbox,
        manifest=json.loads((batch / "manifest.json").read_text()),
        parity=json.loads((report / "parity.json").read_text()),
        report=report / "index.html",
        returncode=done.returncode,
        output=done.stdout + done.stderr,
    )
    dsn = endpoints["SCV_STORE_DSN"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _emit_846(env: dict[str, str], partner: str, at: datetime) -> None:
    """``scv edi emit 846 --as-of T``: written, or refused whole with its reason (exit 1; an
    item without the GTIN the partner requires), as the stream refuses it; nothing else."""
    done = subprocess.run(
        [sys.executable, "-m", "scv", "edi", "emit", "846", "--partner", partner,
         "--as-of", _iso(at)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    refused = done.returncode == 1 and f"846 for {partner} rejected: missing_gtin" in done.stdout
    assert done.returncode == 0 or refused, f"{done.stdout}\n{done.stderr}"


def _unexplained(cut: CutOver) -> str:
    return "\n".join(
        f"{d['document']} {d['partner']} {d['key']} {d['line']} {d['field']} {d['kind']}: "
        f"batch {d['batch']!r} stream {d['stream']!r}: {d['reason']}"
        for d in cut.parity["differences"]
        if d["classification"] == "unexplained"
    )


def test_the_stream_says_what_the_batch_said_with_no_unexplained_difference(
    cut_over: CutOver,
) -> None:
    assert cut_over.parity["totals"]["unexplained"] == 0, _unexplained(cut_over)
    assert cut_over.returncode == 0, cut_over.output
    assert cut_over.parity["verdict"] == "pass"
    assert "0 unexplained" in cut_over.output
    matched = {d["document"]: d["matched"] for d in cut_over.parity["documents"]}
    assert all(matched[t] > 0 for t in ("846", "856", "944", "945")), matched
    html = cut_over.report.read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lstrip().lower().startswith("<!doctype")


def test_every_defect_the_batch_fired_is_found_and_classified_as_a_batch_defect(
    cut_over: CutOver,
) -> None:
    fired = cut_over.manifest["fired"]
    assert fired, "the batch fired none of its defects: nothing for the parity to find"
    explained = [d for d in cut_over.parity["differences"] if d["classification"] == "batch_defect"]
    found = {(d["defect"], d["document"], d["partner"], d["key"]) for d in explained}
    # A document on the batch's side only by a defect (an 846 with an item without GTIN, which
    # the stream refuses whole) leaves nothing for its line firings to explain: they are
    # found with it.
    whole = {(d["document"], d["partner"], d["key"]) for d in explained if d["line"] is None}
    missed = [
        f
        for f in fired
        if (f["defect"], f["document"], f["partner"], f["key"]) not in found
        and (f["document"], f["partner"], f["key"]) not in whole
    ]
    assert not missed, missed
    named = {d["name"]: d for d in cut_over.parity["defects"]}
    for name, info in cut_over.manifest["defects"].items():
        assert named[name]["fired"] == info["fired"], (name, info, named[name])


def test_business_after_the_cut_off_is_timing_named_with_its_commit_time(
    cut_over: CutOver,
) -> None:
    timing = [d for d in cut_over.parity["differences"] if d["classification"] == "timing"]
    assert timing, "the business after the cut-off left no timing difference"
    for d in timing:
        assert d["committed_at"] is not None, d
        assert d["committed_at"] in d["reason"], d
    late = [d for d in timing if d["kind"] == "missing_in_batch" and d["field"] == "(document)"]
    assert late, "no document of the business after the cut-off on the stream only"
    assert all(_parse(d["committed_at"]) > cut_over.at for d in late), late
