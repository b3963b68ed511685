"""``scv sim batch``: run the nightly extract at a cut-off and write its files and manifest.

``run(settings, options)`` reads the partner profiles, queries both legacy databases
(``extract``), builds the documents (``documents``) and writes

    <out>/<partner>/<document>-<cut-off>.x12
    <out>/manifest.json

The manifest (``format: scv-batch-manifest/1``) is the job's own log, made for the parity
report: cut-off and window, when each query ran, which defects were on, every file with its
control number, and every firing (``defects.Firing.as_json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from legacy_sim.batch import extract
from legacy_sim.batch.defects import DEFECTS, Firing
from legacy_sim.batch.documents import Batch, BatchFile, Extract, build
from legacy_sim.batch.partners import load_partners
from legacy_sim.errors import SimConfigError, SimError
from legacy_sim.settings import SimSettings

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "scv-batch-manifest/1"
#: Which reads each document type's content comes from (the manifest's ``observed``: the
#: parity report's "when did the batch look").
OBSERVED: dict[str, tuple[str, ...]] = {
    "846": ("erp_book", "wms_bins"),
    "856": ("wms_orders", "wms_orders_control", "erp_order_lines"),
    "945": ("wms_orders", "wms_orders_control", "erp_order_lines"),
    "944": ("erp_receipts",),
}
#: A cut-off this far ahead of the clock is still "now" (clocks of two machines differ).
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class BatchOptions:
    at: datetime
    since: datetime
    out_dir: Path
    partners_dir: Path
    defects: frozenset[str] = frozenset(DEFECTS)

    def validate(self, now: datetime) -> None:
        for name, moment in (("--at", self.at), ("--since", self.since)):
            if moment.tzinfo is None:
                raise SimConfigError(f"{name} must carry a time zone (2026-03-02T23:00:00Z)")
        if self.at > now + CLOCK_SKEW:
            raise SimConfigError(
                f"--at {self.at.isoformat()} is in the future: the batch reads the databases "
                "as they are now"
            )
        if self.since >= self.at:
            raise SimConfigError("--since must be before --at")
        unknown = sorted(self.defects - set(DEFECTS))
        if unknown:
            raise SimConfigError(f"unknown defects {unknown} (known: {', '.join(DEFECTS)})")
        if self.out_dir.exists() and (not self.out_dir.is_dir() or any(self.out_dir.iterdir())):
            raise SimConfigError(f"{self.out_dir} exists and is not an empty directory")


@dataclass(frozen=True, slots=True)
class BatchResult:
    out_dir: Path
    manifest: Path
    files: tuple[BatchFile, ...]
    firings: tuple[Firing, ...]


def run(
    settings: SimSettings,
    options: BatchOptions,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BatchResult:
    started = clock()
    options.validate(started)
    partners = load_partners(options.partners_dir)
    erp = create_engine(settings.erp_dsn.get_secret_value())
    wms = create_engine(settings.wms_dsn.get_secret_value())
    try:
        found = extract.read(
            erp, wms, at=options.at, since=options.since, defects=options.defects, clock=clock
        )
    finally:
        erp.dispose()
        wms.dispose()
    batch = build(found, partners, options.defects)
    manifest = write(options.out_dir, batch, found, options, started=started, finished=clock())
    return BatchResult(options.out_dir, manifest, batch.files, batch.firings)


def manifest_of(
    batch: Batch,
    found: Extract,
    defects: frozenset[str],
    *,
    started: datetime,
    finished: datetime,
) -> dict[str, Any]:
    """The manifest's content (JSON-ready)."""
    fired: dict[str, int] = {}
    for firing in batch.firings:
        fired[firing.defect] = fired.get(firing.defect, 0) + 1
    return {
        "format": MANIFEST_FORMAT,
        "at": _iso(found.at),
        "since": _iso(found.since),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "partners": sorted({f.partner for f in batch.files}),
        "reads": {
            name: {"started": _iso(r.started), "finished": _iso(r.finished)}
            for name, r in found.reads.items()
        },
        "observed": {
            document: {"started": _iso(span[0]), "finished": _iso(span[1])}
            for document, names in OBSERVED.items()
            if (span := _span(found, names)) is not None
        },
        "defects": {
            name: {"enabled": name in defects, "fired": fired.get(name, 0), "what": what}
            for name, what in DEFECTS.items()
        },
        "files": [
            {
                "partner": f.partner,
                "document": f.document,
                "path": f"{f.partner}/{f.name}",
                "control": f.control,
                "sets": f.sets,
            }
            for f in batch.files
        ],
        "fired": [f.as_json() for f in batch.firings],
    }


def write(
    out_dir: Path,
    batch: Batch,
    found: Extract,
    options: BatchOptions,
    *,
    started: datetime,
    finished: datetime,
) -> Path:
    content = manifest_of(batch, found, options.defects, started=started, finished=finished)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for f in batch.files:
            (out_dir / f.partner).mkdir(exist_ok=True)
            (out_dir / f.partner / f.name).write_bytes(f.data)
        path = out_dir / MANIFEST
        path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise SimError(f"cannot write the batch to {out_dir}: {err.strerror or err}") from None
    return path


def _span(found: Extract, names: tuple[str, ...]) -> tuple[datetime, datetime] | None:
    reads = [found.reads[n] for n in names if n in found.reads]
    if not reads:
        return None
    return min(r.started for r in reads), max(r.finished for r in reads)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
