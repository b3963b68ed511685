"""``scv edi``: X12 856/945/944 from the canonical stream and 846 inventory advices, written to
one outbox directory per partner, exactly once; the documents and the rejects listed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from datetime import datetime

    from edi.plan import StockRow
    from edi.settings import EdiSettings


def _stack_env() -> dict[str, str]:
    from stack.credentials import load_or_create
    from stack.endpoints import exports
    from stack.settings import StackSettings

    settings = StackSettings()
    if not settings.state_dir.exists():
        return {}
    return exports(settings, load_or_create(settings.state_dir))


def build_settings(schema: str | None, outbox: Path | None) -> EdiSettings:
    """``SCV_EDI_*`` / ``SCV_*`` variables, else the running local stack's database; the
    outbox defaults to ``<state dir>/edi/outbox``."""
    import os

    from pydantic import SecretStr

    from edi.settings import EdiSettings
    from stack.settings import StackSettings

    base = EdiSettings()
    overrides: dict[str, object] = {}
    if not (os.environ.get("SCV_EDI_STORE_DSN") or os.environ.get("SCV_STORE_DSN")):
        dsn = _stack_env().get("SCV_STORE_DSN")
        if dsn:
            # model_copy does not validate: hand it the field's type, not a plain string.
            overrides["store_dsn"] = SecretStr(dsn)
    if schema is not None:
        overrides["db_schema"] = schema
    if outbox is not None:
        overrides["outbox_dir"] = outbox
    elif base.outbox_dir is None:
        overrides["outbox_dir"] = StackSettings().state_dir / "edi" / "outbox"
    return base.model_copy(update=overrides) if overrides else base


_schema = click.option("--schema", default=None, help="Schema of the EDI tables (default: edi).")
_outbox = click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Outbox directory, one folder per partner (default: $SCV_EDI_OUTBOX_DIR, else "
    "<state dir>/edi/outbox).",
)


@click.group()
def edi() -> None:
    """X12 846/856/944/945 for the trading partners, from the canonical stream."""


@edi.command()
@click.option(
    "--until-idle",
    is_flag=True,
    help="Stop once every partition is read to its end and no dispatch waits for its lines.",
)
@_schema
@_outbox
def run(until_idle: bool, schema: str | None, outbox: Path | None) -> None:
    """856 and 945 per dispatch, 944 per receipt, 846 on each partner's schedule: exactly once."""
    from edi.profile import load_partners
    from edi.stage import Stage
    from edi.store import opened

    settings = build_settings(schema, outbox)
    profiles = load_partners(settings.partners_dir)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        stage = Stage(settings, store, profiles, log=lambda line: click.echo(line, err=True))
        stats = stage.run(until_idle=until_idle)
    documents = sum(stats.documents.values())
    click.echo(
        f"edi: {stats.messages} messages, {documents} documents, {sum(stats.rejects.values())} "
        f"rejected, {stats.duplicates} duplicates, {stats.waiting} held, {stats.batches} "
        f"batches, {stats.seconds:.1f}s; outbox {settings.outbox}"
    )
    for doc_type, count in sorted(stats.documents.items()):
        click.echo(f"  {doc_type}  {count}")
    for reason, count in sorted(stats.rejects.items()):
        click.echo(f"  rejected: {reason:<22} {count}  (scv edi rejects)")


def _replayed_stock(as_of: datetime) -> list[StockRow]:
    """The views' positions as of a time, rebuilt from the canonical topics (the same
    arithmetic as ``scv inventory show --as-of``)."""
    from edi.plan import StockRow
    from scv.commands.views import build_settings as views_settings
    from views.process import replay_until

    book = replay_until(views_settings(), as_of)
    return [
        StockRow(site, item, p.on_hand, p.allocated, p.on_hold, p.available)
        for (site, item), p in sorted(book.positions.items())
    ]


@edi.command()
@click.argument("document", type=click.Choice(["846"]))
@click.option("--partner", required=True, help="The partner's id (its profile's file name).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="ISO time: the positions as the stream stood then (replayed from the canonical "
    "topics); default: the views' positions now.",
)
@_schema
@_outbox
def emit(
    document: str, partner: str, as_of: str | None, schema: str | None, outbox: Path | None
) -> None:
    """Send one inventory advice (846) to a partner now, outside its schedule."""
    from edi.plan import Reject
    from edi.profile import load_partners
    from edi.stage import emit_846, now, parse_time, partner_846
    from edi.store import opened

    settings = build_settings(schema, outbox)
    profiles = load_partners(settings.partners_dir)
    partner_846(profiles, partner)  # before a replay, not after it
    when = None if as_of is None else parse_time(as_of, not_after=now())
    stock = None if when is None else _replayed_stock(when)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        outcome = emit_846(settings, store, profiles, partner, as_of=when, stock=stock)
    if isinstance(outcome, Reject):
        click.echo(f"edi: {document} for {partner} rejected: {outcome.reason}: {outcome.detail}")
        raise SystemExit(1)
    path = settings.outbox / outcome.partner_id / outcome.file_name
    click.echo(
        f"edi: {document} for {partner}: ISA13 {outcome.control.interchange:09d}, "
        f"{outcome.sets} transaction sets, {path}"
    )


@edi.command()
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@_schema
def rejects(limit: int, schema: str | None) -> None:
    """Documents not built (and records not read), and why."""
    from edi.stage import rejects as list_rejects
    from edi.store import opened

    settings = build_settings(schema, None)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        found = list_rejects(store, limit)
    if not found:
        click.echo("no rejects")
    for r in found:
        what = " ".join(x for x in (r.partner_id, r.doc_type, r.business_key) if x)
        where = f" ({r.where})" if r.where else ""
        click.echo(
            f"{r.rejected_at.isoformat(timespec='seconds')}  {what or 'record'}{where}  "
            f"{r.reason}: {r.detail}"
        )


@edi.command()
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--partner", default=None, help="Only this partner's.")
@_schema
def documents(limit: int, partner: str | None, schema: str | None) -> None:
    """The interchanges built: partner, type, ISA13, status, file and business key."""
    from edi.stage import documents as list_documents
    from edi.store import opened

    settings = build_settings(schema, None)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        found = list_documents(store, limit, partner)
    if not found:
        click.echo("no documents")
    for d in found:
        click.echo(
            f"{d.created_at.isoformat(timespec='seconds')}  {d.partner_id:<20} {d.doc_type}  "
            f"{d.interchange:09d}  {d.status:<7}  {d.file_name}  {d.business_key}"
        )
