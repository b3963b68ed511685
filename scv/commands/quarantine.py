"""``scv quarantine``: work the quarantine (list, show, replay after a fix).

Reads the pipeline's quarantine topic ``read_committed`` (``--topic-prefix``, default
``SCV_TRANSFORMS_TOPIC_PREFIX``). Record ids are ``<partition>:<offset>`` in that topic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from scv.commands.audit import operator_action
from scv.options import dsn_option

if TYPE_CHECKING:
    from expectations.quarantine import QuarantineRecord
    from transforms.settings import TransformsSettings

_prefix = click.option(
    "--topic-prefix",
    default=None,
    help="Prefix of the pipeline's output topics (default: SCV_TRANSFORMS_TOPIC_PREFIX).",
)
_rule = click.option("--rule", default=None, help="Only records that failed this rule.")
_since = click.option(
    "--since", default=None, help="Only records quarantined since: ISO time or 30m, 2h, 7d."
)


def _settings(topic_prefix: str | None) -> TransformsSettings:
    from scv.settings import transforms_settings

    return transforms_settings(topic_prefix=topic_prefix)


def _since_time(since: str | None) -> datetime | None:
    from expectations.quarantine import parse_since

    return None if since is None else parse_since(since, now=datetime.now(UTC))


def _records(
    settings: TransformsSettings, rule: str | None, since: str | None
) -> list[QuarantineRecord]:
    from expectations.quarantine import from_records
    from kafkaio import read_records

    topic = settings.topic(settings.quarantine_topic)
    when = _since_time(since)
    return from_records(
        read_records(settings.kafka_bootstrap, [topic], since=when), since=when, rule=rule
    )


def _gate_suites() -> object:
    """The audit snapshot of a replay: the gating suites it judges by (path -> SHA-256)."""
    import hashlib

    from expectations.suites import SUITES_DIR

    return {
        str(path.relative_to(SUITES_DIR)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((SUITES_DIR / "gating").rglob("*.json"))
    }


@click.group()
def quarantine() -> None:
    """Quarantined records: list, show, replay after a fix."""


@quarantine.command("list")
@_prefix
@_rule
@_since
@click.option("--limit", default=200, show_default=True, help="Newest records shown.")
def list_(topic_prefix: str | None, rule: str | None, since: str | None, limit: int) -> None:
    """Quarantined records: id, time, rule, event type, original topic/partition/offset."""
    settings = _settings(topic_prefix)
    records = _records(settings, rule, since)
    click.echo(f"{'id':<12} {'quarantined at (UTC)':<20} {'rule':<28} {'event type':<22} original")
    for r in records[-limit:] if limit > 0 else records:
        when = r.time.strftime("%Y-%m-%d %H:%M:%S")
        original = f"{r.original_topic}/{r.original_partition}@{r.original_offset}"
        click.echo(f"{r.id:<12} {when:<20} {r.rule:<28} {r.kind:<22} {original}")
    shown = min(len(records), limit) if limit > 0 else len(records)
    click.echo(
        f"{len(records)} records in {settings.topic(settings.quarantine_topic)} ({shown} shown)"
    )


@quarantine.command()
@_prefix
@click.argument("record_id")
def show(topic_prefix: str | None, record_id: str) -> None:
    """One record: headers, failed rules, the original record (sensitive fields masked)."""
    from expectations.errors import QuarantineNotFound
    from expectations.quarantine import find

    settings = _settings(topic_prefix)
    record = find(_records(settings, None, None), record_id)
    if record is None:
        raise QuarantineNotFound(
            f"no record {record_id!r} in {settings.topic(settings.quarantine_topic)} "
            "(ids are <partition>:<offset>, see `scv quarantine list`)"
        )
    click.echo(json.dumps(record.describe(), indent=2, ensure_ascii=False, default=str))


@quarantine.command()
@_prefix
@_rule
@_since
@click.option("--batch-size", default=500, show_default=True, help="Records per transaction.")
@dsn_option("--erp-dsn", "SCV_ERP_READ_DSN", "Where to read F0006 zones (read-only)")
def replay(
    topic_prefix: str | None,
    rule: str | None,
    since: str | None,
    batch_size: int,
    erp_dsn: str | None,
) -> None:
    """Re-run quarantined records through the current mappers and suites (idempotent)."""
    from scv.settings import transforms_settings
    from transforms.quality import QualityGate
    from transforms.registry import default_registry
    from transforms.replay import Replayer

    if batch_size < 1:
        raise click.BadParameter("must be at least 1", param_hint="--batch-size")
    settings = transforms_settings(
        topic_prefix=topic_prefix,
        erp_dsn=erp_dsn,
        warn=lambda line: click.echo(f"pipeline: {line}", err=True),
    )
    replayer = Replayer(
        settings,
        default_registry(),
        QualityGate.load(),
        batch_size=batch_size,
        log=lambda line: click.echo(line, err=True),
    )
    with operator_action(
        "quarantine replay",
        settings.topic(settings.quarantine_topic),
        _gate_suites,
        rule=rule,
        since=since,
        batch_size=batch_size,
    ):
        stats = replayer.run(rule=rule, since=_since_time(since))
    click.echo(
        f"replay: {stats.selected} selected, {stats.already_replayed} replayed before, "
        f"{stats.replayed} replayed now in {stats.batches} transactions "
        f"({sum(stats.events.values())} events), "
        f"{sum(stats.still_failing.values())} still failing"
    )
    for name, counter in (("event", stats.events), ("skipped", stats.skipped),
                          ("failing", stats.still_failing)):  # fmt: skip
        for key, count in sorted(counter.items()):
            click.echo(f"  {name:<8} {key:<28} {count}")
