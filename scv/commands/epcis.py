"""``scv epcis``: GS1 EPCIS 2.0 events from the canonical stream, as one document on demand
(``export``) or as the continuous topic ``scv.epcis.v1`` (``run``), exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from edi.settings import EdiSettings


def build_settings() -> EdiSettings:
    """``SCV_EDI_*`` / ``SCV_KAFKA_BOOTSTRAP`` variables, else the running local stack's Kafka."""
    import os

    from edi.settings import EdiSettings
    from scv.commands.edi import _stack_env

    base = EdiSettings()
    if os.environ.get("SCV_EDI_KAFKA_BOOTSTRAP") or os.environ.get("SCV_KAFKA_BOOTSTRAP"):
        return base
    bootstrap = _stack_env().get("SCV_KAFKA_BOOTSTRAP")
    return base.model_copy(update={"kafka_bootstrap": bootstrap}) if bootstrap else base


@click.group()
def epcis() -> None:
    """GS1 EPCIS 2.0: receiving, shipping, picking and probe readings as ObjectEvents."""


@epcis.command()
@click.option(
    "--since",
    default=None,
    help="ISO time: only events whose eventTime is at or after it (default: all).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The EPCISDocument (JSON-LD) to write.",
)
def export(since: str | None, out: Path) -> None:
    """One EPCISDocument of the canonical topics, read up to their end now."""
    from edi.epcis_stage import export as export_document
    from edi.stage import now, parse_time

    settings = build_settings()
    when = None if since is None else parse_time(since, not_after=now())
    stats = export_document(settings, out, since=when, log=lambda line: click.echo(line, err=True))
    click.echo(
        f"epcis: {stats.events} events to {out} ({stats.records} records read, "
        f"{stats.before} before --since, {sum(stats.rejects.values())} rejected, "
        f"{stats.duplicates} duplicates, {stats.history} snapshot history)"
    )
    for reason, count in sorted(stats.rejects.items()):
        click.echo(f"  rejected: {reason:<22} {count}")


@epcis.command()
@click.option(
    "--until-idle",
    is_flag=True,
    help="Stop once every partition is read to its end and no event waits.",
)
def run(until_idle: bool) -> None:
    """The canonical topics → scv.epcis.v1 (rejects: scv.epcis.rejects.v1), exactly once."""
    from edi.epcis_stage import EpcisRun

    settings = build_settings()
    stats = EpcisRun(settings, log=lambda line: click.echo(line, err=True)).run(
        until_idle=until_idle
    )
    topic, rejects = settings.epcis_topics
    click.echo(
        f"epcis: {stats.messages} messages, {stats.events} events to {topic}, "
        f"{sum(stats.rejects.values())} rejected to {rejects}, {stats.duplicates} duplicates, "
        f"{stats.waiting} waiting, {stats.batches} transactions, {stats.seconds:.1f}s"
    )
    for reason, count in sorted(stats.rejects.items()):
        click.echo(f"  rejected: {reason:<22} {count}")
