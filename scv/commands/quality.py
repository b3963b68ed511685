"""``scv quality``: the data-quality gate's suites, its benchmark (and the quality report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from expectations.settings import QualitySettings


def _settings(topic_prefix: str | None = None) -> QualitySettings:
    from scv.settings import quality_settings

    return quality_settings(topic_prefix)


@click.group()
def quality() -> None:
    """Quality gate: suites, benchmark, report."""


@quality.command()
def suites() -> None:
    """List the gating suites (event type, rules, digest) and check that each compiles."""
    from expectations.gate import Gate

    settings = _settings()
    gate = Gate.load(settings.suites_dir)
    for event_type, compiled in sorted(gate.suites.items()):
        suite = compiled.suite
        click.echo(f"{event_type:<26} {len(suite.expectations):>3} rules  {suite.label}")


@quality.command()
@click.option("--events", default=1000, show_default=True, help="Events per batch.")
@click.option("--repeats", default=7, show_default=True, help="Timed runs (median).")
@click.option("--no-gx", is_flag=True, help="Time only the compiled evaluator.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench(events: int, repeats: int, no_gx: bool, as_json: bool) -> None:
    """Gate cost per 1,000 events: compiled evaluator vs GX, in one run."""
    import random

    from expectations.bench import GOAL_MS_PER_1000, bench_gate
    from expectations.gate import Gate
    from transforms.samples import clean_event, sample_batch

    if events < 1:
        raise click.BadParameter("must be at least 1", param_hint="--events")
    gate = Gate.load(_settings().suites_dir)
    types = sorted(gate.suites)
    rng = random.Random(1)
    mixed = [clean_event(types[i % len(types)], i, rng) for i in range(events)]
    biggest = max(types, key=lambda t: len(gate.suites[t].checks))
    single = sample_batch(biggest, gate.suites[biggest].suite, size=events).events
    results = bench_gate(
        {"mixed (every event type)": mixed, f"{biggest} only (largest suite)": single},
        gate=gate,
        repeats=repeats,
        with_gx=not no_gx,
    )
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
        return
    click.echo(f"gate cost per 1,000 events (goal < {GOAL_MS_PER_1000:g} ms compiled)")
    for r in results:
        gx = "" if r.gx_per_1000 is None else f"   GX {r.gx_per_1000:9.1f} ms   x{r.ratio:.0f}"
        click.echo(f"  {r.name:<36} compiled {r.compiled_per_1000:6.2f} ms{gx}")


@quality.command()
@click.option("--since", default=None, help="Only what was gated since: ISO time or 30m, 2h, 7d.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for index.html, summary.json and the GX Data Docs (gx/).",
)
@click.option(
    "--topic-prefix",
    default=None,
    help="Prefix of the pipeline's output topics (default: SCV_QUALITY_TOPIC_PREFIX).",
)
@click.option("--sample", default=500, show_default=True, help="Events per type for GX.")
@click.option("--no-data-docs", is_flag=True, help="Skip the GX Data Docs (no GX import).")
def report(
    since: str | None, out_dir: Path, topic_prefix: str | None, sample: int, no_data_docs: bool
) -> None:
    """Self-contained HTML + JSON data-quality report, with GX Data Docs beside it."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    import orjson

    from expectations.quarantine import from_records, parse_since
    from expectations.report import GatedEvent, summarize, write_report
    from kafkaio import read_committed, read_records
    from transforms.events import CANONICAL_TOPICS

    settings = _settings(topic_prefix)
    now = datetime.now(UTC)
    start = None if since is None else parse_since(since, now=now)
    bootstrap = settings.kafka_bootstrap
    events = [
        GatedEvent(orjson.loads(value), message.timestamp()[1])
        for message in read_committed(
            bootstrap, [settings.topic(t) for t in CANONICAL_TOPICS], since=start
        )
        if (value := message.value()) is not None
    ]
    quarantine = settings.topic(settings.quarantine_topic)
    records = from_records(read_records(bootstrap, [quarantine], since=start), since=start)
    summary = summarize(events, records, since=start, now=now, topic_prefix=settings.topic_prefix)
    if not no_data_docs and events:
        from expectations.datadocs import build_data_docs
        from expectations.suites import Suite, load_suites
        from transforms.events import from_json

        by_type: dict[str, list[GatedEvent]] = {}
        for event in events:
            by_type.setdefault(event.event_type, []).append(event)
        samples = {
            t: [from_json(orjson.dumps(e.payload)) for e in found[-sample:]]
            for t, found in by_type.items()
        }
        suites: dict[str, list[Suite]] = {}
        for purpose in ("gating", "monitoring"):
            for event_type, suite in load_suites(purpose, settings.suites_dir).items():
                suites.setdefault(event_type, []).append(suite)
        index, validations = build_data_docs(
            out_dir, samples, suites, run_name=now.strftime("%Y%m%dT%H%M%SZ")
        )
        summary["data_docs"] = {
            "index": str(index.relative_to(out_dir)),
            "validations": [asdict(v) for v in validations],
        }
    index_html = write_report(out_dir, summary)
    totals = summary["totals"]
    click.echo(
        f"quality report: {totals['passed']} events passed, {totals['quarantined']} quarantined, "
        f"{len(summary['failures'])} rules failing"
    )
    click.echo(str(index_html))
