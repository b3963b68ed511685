"""``scv carrier serve`` / ``scv carrier rejects``: the carrier webhook receiver and what it
refused (``carrier`` is the stage)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from scv.exit_codes import ExitCode

if TYPE_CHECKING:
    from carrier.settings import CarrierSettings


def _settings(port: int | None = None) -> CarrierSettings:
    from scv.settings import carrier_settings

    return carrier_settings(port=port)


@click.group()
def carrier() -> None:
    """The carrier feed: tracking webhooks in, shipment.* events out."""


@carrier.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default 18090).")
def serve(port: int | None) -> ExitCode:
    """Receive tracking updates on loopback and relay them to scv.shipment.v1 (Ctrl-C stops)."""
    from carrier.serve import serve as run

    run(_settings(port), click.echo)
    return ExitCode.OK


@carrier.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--body/--no-body", default=False, help="Show each refused body (cut at 200 bytes).")
def rejects(limit: int, body: bool) -> ExitCode:
    """The latest refused webhook bodies, with the status answered and the reason."""
    from carrier.store import opened

    settings = _settings()
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        found = store.rejects(limit)
    if not found:
        click.echo("no rejected carrier updates")
        return ExitCode.OK
    for r in found:
        click.echo(f"{r.id:>6}  {r.received_at.isoformat()}  {r.status}  {r.reason}")
        if body:
            click.echo(f"        {r.body[:200]!r}")
    click.echo(f"{len(found)} rejected (latest {limit} shown at most)")
    return ExitCode.OK
