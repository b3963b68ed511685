"""``scv views`` / ``scv inventory`` / ``scv alerts`` / ``scv reconcile``: positions and alerts
built from the gated canonical stream, and their proof against the legacy sources."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import click

from scv.exit_codes import ExitCode
from scv.options import dsn_option, metrics_port_option

if TYPE_CHECKING:
    from views.positions import Key, Position
    from views.settings import ViewsSettings


def build_settings(schema: str | None = None, *, allow_gap: bool | None = None) -> ViewsSettings:
    from scv.settings import views_settings

    return views_settings(schema, allow_gap=allow_gap)


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


def _print_positions(positions: dict[Key, Position]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for name in ("site", "item", "on hand", "allocated", "on hold", "available", "in transit",
                 "on order", "reserved", "picked"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("site", "item") else "right")
    for (site, item), p in sorted(positions.items()):
        table.add_row(
            site,
            item,
            *(_fmt(getattr(p, b)) for b in ("on_hand", "allocated", "on_hold", "available",
                                            "in_transit", "on_order", "reserved", "picked")),
        )  # fmt: skip
    Console(highlight=False).print(table)


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- scv views -------------------------------------------------------------------------------


@click.group()
def views() -> None:
    """The view process: positions and alerts from the canonical topics."""


@views.command()
@click.option("--until-idle", is_flag=True, help="Stop once every partition is read to its end.")
@click.option("--schema", default=None, help="Serving schema (default: views).")
@click.option(
    "--allow-gap",
    is_flag=True,
    help="Read on from the log start past canonical events deleted before they were applied "
    "(logged and counted); without it the process stops naming them.",
)
@metrics_port_option
def run(until_idle: bool, schema: str | None, allow_gap: bool, metrics_port: int | None) -> None:
    """Apply canonical events to the serving tables, exactly once, and publish alerts."""
    from views.process import ViewProcess
    from views.store import opened

    settings = build_settings(schema, allow_gap=allow_gap or None)
    log = lambda line: click.echo(line, err=True)  # noqa: E731
    view_metrics = None
    if metrics_port is not None:
        from scv.observe import serve, views_registry
        from views.observe import ViewMetrics

        registry = views_registry(settings, log)
        view_metrics = ViewMetrics(registry)
        serve(registry, metrics_port, log)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        process = ViewProcess(settings, store, log=log, metrics=view_metrics)
        stats = process.run(until_idle=until_idle)
    click.echo(
        f"views: {stats.messages} messages, {stats.applied} applied, {stats.duplicates} "
        f"duplicates, {stats.alerts} alerts, {stats.positions} positions, "
        f"{stats.batches} batches, {stats.seconds:.1f}s"
        + (f", {len(stats.gaps)} gaps skipped (--allow-gap)" if stats.gaps else "")
    )
    for event_type, count in sorted(stats.by_type.items()):
        click.echo(f"  {event_type:<28} {count}")
    for reason, count in sorted(stats.rejected.items()):
        click.echo(f"  rejected: {reason:<18} {count}  (scv views rejected)")
    for gap in stats.gaps:
        click.echo(f"  gap: {gap.topic}[{gap.partition}] {gap.skipped} skipped")


@views.command()
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--schema", default=None, help="Serving schema (default: views).")
def rejected(limit: int, schema: str | None) -> None:
    """Canonical records the view process could not apply, and why (skipped, not lost)."""
    from views.store import opened

    settings = build_settings(schema)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        store.ensure_schema()
        records = store.rejected(limit)
    if not records:
        click.echo("no rejected records")
    for r in records:
        click.echo(f"{r.topic}[{r.partition}]@{r.offset}  {r.reason}: {r.detail}")


# --- scv inventory ---------------------------------------------------------------------------


@click.group()
def inventory() -> None:
    """Inventory positions per site x item (base unit)."""


@inventory.command()
@click.option("--site", default=None, help="Only this site.")
@click.option("--item", default=None, help="Only this item.")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="ISO time: rebuild from the canonical topics as the stream stood then.",
)
@click.option("--schema", default=None, help="Serving schema (default: views).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per position.")
def show(
    site: str | None, item: str | None, as_of: str | None, schema: str | None, as_json: bool
) -> None:
    """Show positions: the live serving table, or --as-of a time replayed from the log."""
    settings = build_settings(schema)
    if as_of is not None:
        from views.process import replay_until

        book = replay_until(settings, _parse_time(as_of))
        positions = {
            k: p
            for k, p in book.positions.items()
            if (site is None or k[0] == site) and (item is None or k[1] == item)
        }
    else:
        from views.store import opened

        with opened(settings.libpq_dsn, settings.db_schema) as store:
            store.ensure_schema()
            positions = store.positions(site, item)
    if as_json:
        import orjson

        for (s, i), p in sorted(positions.items()):
            row = {"site_id": s, "item_id": i} | {k: _fmt(v) for k, v in p.as_dict().items()}
            click.echo(orjson.dumps(row).decode())
        return
    _print_positions(positions)


# --- scv alerts ------------------------------------------------------------------------------


@click.group()
def alerts() -> None:
    """Low stock, projected stock-outs, late shipments, temperature excursions, late inbound
    PO lines, supplier OTIF drops, demand shifts."""


@alerts.command()
@click.option(
    "--kind",
    type=click.Choice(
        [
            "below_reorder_point",
            "projected_stockout",
            "late_shipment",
            "temperature_excursion",
            "short_shipment",
            "late_delivery",
            "late_inbound_po",
            "supplier.otif_dropped",
            "demand.shift",
        ]
    ),
    default=None,
    help="Only this kind.",
)
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new alerts.")
@click.option("--json", "as_json", is_flag=True, help="The alert records as JSON lines.")
def tail(kind: str | None, follow: bool, as_json: bool) -> None:
    """Print the alerts on scv.alerts.v1 from the beginning."""
    import orjson

    from views.process import tail_alerts

    settings = build_settings()
    for alert in tail_alerts(settings, follow=follow):
        if kind is not None and alert.get("kind") != kind:
            continue
        if as_json:
            click.echo(orjson.dumps(alert).decode())
            continue
        click.echo(
            f"{alert['occurred_at']}  {alert['action']:<8} {alert['severity']:<8} "
            f"{alert['kind']:<22} {alert['subject']:<28} {alert['message']}"
        )


# --- scv reconcile ---------------------------------------------------------------------------


@click.command()
@click.option("--schema", default=None, help="Serving schema (default: views).")
@dsn_option("--erp-dsn", "SCV_ERP_READ_DSN", "The legacy ERP (read-only)")
@dsn_option("--wms-dsn", "SCV_WMS_DSN", "The legacy WMS")
@click.option("--limit", default=50, show_default=True, help="Mismatches printed at most.")
def reconcile(schema: str | None, erp_dsn: str | None, wms_dsn: str | None, limit: int) -> ExitCode:
    """Compare the stream's positions with the legacy sources; exit 1 on any mismatch."""
    from scv.settings import legacy_sources
    from views.reconcile import reconcile_sources

    erp_dsn, wms_dsn = legacy_sources(erp_dsn, wms_dsn)
    if not erp_dsn or not wms_dsn:
        raise click.UsageError("no legacy sources: set SCV_ERP_READ_DSN and SCV_WMS_DSN")
    result = reconcile_sources(build_settings(schema), erp_dsn, wms_dsn)
    for m in result.mismatches[:limit]:
        click.echo(
            f"MISMATCH {m.source:<22} {m.site_id}|{m.item_id:<24} {m.bucket:<10} "
            f"stream {_fmt(m.stream)} source {_fmt(m.truth)} (diff {_fmt(m.difference)})"
        )
    if len(result.mismatches) > limit:
        click.echo(f"... and {len(result.mismatches) - limit} more")
    click.echo(
        f"reconcile: {result.keys} site x item keys, {result.sources} sources, "
        f"{len(result.mismatches)} mismatches"
    )
    return ExitCode.OK if result.ok else ExitCode.FAILED
