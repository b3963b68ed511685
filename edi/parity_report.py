"""``scv edi parity``'s edge: read the two directories and the manifest, write the report.

    <batch>/manifest.json               the batch's manifest (``legacy_sim.batch``)
    <batch>/<partner>/<file>            the batch's interchanges
    <stream>/<partner>/<file>           the stream's outbox (``scv edi run``)

A file is read when it starts with ``ISA`` (others, and hidden or ``.tmp``/``.part`` files,
are not X12 documents and are skipped); one that starts with ``ISA`` and cannot be read is an
unexplained difference. Dates in a partner's documents are read in its profile's time zone.
The report is ``index.html`` (self-contained: inline CSS, no script, no external URL, the
quality report's style) and ``parity.json`` in the output directory. ``run_parity`` is the
one function the command calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from edi.errors import ParityError, X12ReadError
from edi.parity import Commit, Manifest, Record, Side, compare, records_of, summarize
from edi.profile import load_partners
from edi.x12read import read_interchanges

TEMPLATES: Final = Path(__file__).parent / "templates"
MANIFEST: Final = "manifest.json"
#: How far ``--at`` may be from the manifest's cut-off (its ISO text has microseconds).
AT_TOLERANCE: Final = timedelta(seconds=1)
_SKIPPED_SUFFIXES = (".tmp", ".part")


@dataclass(frozen=True, slots=True)
class SideFiles:
    records: list[Record]
    problems: list[tuple[Side, str, str]]
    skipped: list[str]


def read_manifest(batch_dir: Path) -> Manifest:
    path = batch_dir / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParityError(
            f"{path}: no batch manifest (is {batch_dir} a `scv sim batch` output?)"
        ) from None
    except (OSError, ValueError) as err:
        raise ParityError(f"{path}: cannot be read ({err})") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(manifest)"
        raise ParityError(f"{path}: {where}: {first['msg']}") from None


def read_side(directory: Path, side: Side, zones: Mapping[str, tzinfo]) -> SideFiles:
    """Every X12 document under ``directory/<partner>/``."""
    if not directory.is_dir():
        raise ParityError(f"{directory}: no such directory ({side} side)")
    records: list[Record] = []
    problems: list[tuple[Side, str, str]] = []
    skipped: list[str] = []
    for partner_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        partner = partner_dir.name
        if partner.startswith("."):
            continue
        zone = zones.get(partner, ZoneInfo("UTC"))
        for path in sorted(partner_dir.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if not path.is_file() or path.name.startswith(".") or path.suffix in _SKIPPED_SUFFIXES:
                continue
            try:
                data = path.read_bytes()
            except OSError as err:
                problems.append((side, relative, f"cannot be read ({err.strerror or err})"))
                continue
            if data.lstrip()[:3] != b"ISA":
                skipped.append(relative)
                continue
            try:
                interchanges = read_interchanges(data)
            except X12ReadError as err:
                problems.append((side, relative, str(err)))
                continue
            for interchange in interchanges:
                found, bad = records_of(interchange, partner=partner, file=relative, zone=zone)
                records.extend(found)
                problems.extend((side, relative, why) for why in bad)
    return SideFiles(records, problems, skipped)


@dataclass(frozen=True, slots=True)
class ParityRun:
    summary: dict[str, Any]
    index: Path
    data: Path

    @property
    def unexplained(self) -> int:
        return int(self.summary["totals"]["unexplained"])


def run_parity(
    *,
    batch_dir: Path,
    stream_dir: Path,
    out_dir: Path,
    ledger: Callable[[datetime], Iterable[Commit]],
    partners_dir: Path,
    now: datetime,
    at: datetime | None = None,
) -> ParityRun:
    """Compare, classify, write ``index.html`` and ``parity.json``; the numbers and paths.

    ``ledger(since)`` gives the ledger's commits after ``since`` (the batch window's start).
    """
    manifest = read_manifest(batch_dir)
    if at is not None and abs(at - manifest.at) > AT_TOLERANCE:
        raise ParityError(
            f"the batch in {batch_dir} was cut off at {manifest.at.isoformat()}, not "
            f"{at.isoformat()}"
        )
    zones = {pid: ZoneInfo(p.formats.time_zone) for pid, p in load_partners(partners_dir).items()}
    batch = read_side(batch_dir, "batch", zones)
    stream = read_side(stream_dir, "stream", zones)
    parity = compare(
        batch.records,
        stream.records,
        manifest=manifest,
        commits=ledger(manifest.since),
        problems=[*batch.problems, *stream.problems],
    )
    summary = summarize(
        parity,
        manifest,
        generated_at=now,
        batch_dir=str(batch_dir),
        stream_dir=str(stream_dir),
    )
    summary["skipped_files"] = {"batch": batch.skipped, "stream": stream.skipped}
    index, data = write_report(out_dir, summary)
    return ParityRun(summary, index, data)


def render_html(summary: Mapping[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("parity.html.j2").render(s=summary)


def write_report(out_dir: Path, summary: Mapping[str, Any]) -> tuple[Path, Path]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        data = out_dir / "parity.json"
        data.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
        index = out_dir / "index.html"
        index.write_text(render_html(summary), "utf-8")
    except OSError as err:
        raise ParityError(f"cannot write the report to {out_dir}: {err.strerror or err}") from None
    return index, data
