"""``scv suppliers`` / ``scv demand``: supplier scorecards and demand shifts from the serving
tables the view process keeps (``views.suppliers``, ``views.demand``)."""

from __future__ import annotations

import re
from typing import Any

import click

from scv.commands.views import build_settings


def _window(value: str | None) -> int | None:
    if value is None:
        return None
    found = re.fullmatch(r"(\d+)d?", value.strip())
    if not found:
        raise click.BadParameter(f"{value!r}: a number of days such as 30d", param_hint="--window")
    return int(found.group(1))


def _json(row: dict[str, Any]) -> str:
    import orjson

    from views.supply import figure_text

    return orjson.dumps({k: None if v is None else figure_text(v) for k, v in row.items()}).decode()


@click.group()
def suppliers() -> None:
    """Supplier performance: on time, in full, OTIF, lead times, fill rate."""


@suppliers.command()
@click.option("--supplier", default=None, help="Only this supplier (address number).")
@click.option("--window", default=None, help="Only this rolling window, e.g. 7d, 30d, 90d.")
@click.option("--schema", default=None, help="Serving schema (default: views).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per scorecard.")
def scorecard(supplier: str | None, window: str | None, schema: str | None, as_json: bool) -> None:
    """Scorecards per supplier and window, worst OTIF first."""
    from views.store import opened
    from views.supply import figure_text, rate_percent, read_scorecards

    settings = build_settings(schema)
    days = _window(window)
    if days is not None and days not in settings.supplier_windows_days:
        kept = ", ".join(f"{d}d" for d in settings.supplier_windows_days)
        raise click.BadParameter(
            f"no {days}-day window: the views keep {kept} (SCV_VIEWS_SUPPLIER_WINDOWS_DAYS)",
            param_hint="--window",
        )
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        store.ensure_schema()
        rows = read_scorecards(store.conn, store.schema, supplier, days)
    if as_json:
        for row in rows:
            click.echo(_json(row))
        return
    if not rows:
        click.echo("no scorecards yet (no PO line closed by a receipt)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in ("supplier", "window", "lines", "on time", "in full", "OTIF", "fill rate",
                 "lead avg", "lead p90", "quoted avg", "late open", "as of"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("supplier", "as of") else "right")
    for r in rows:
        table.add_row(
            r["supplier_id"],
            f"{r['window_days']}d",
            str(r["lines"]),
            rate_percent(r["on_time_rate"]),
            rate_percent(r["in_full_rate"]),
            rate_percent(r["otif_rate"]),
            rate_percent(r["fill_rate"]),
            figure_text(r["avg_lead_days"]),
            figure_text(r["p90_lead_days"]),
            figure_text(r["avg_quoted_days"]),
            str(r["late_open_lines"]),
            figure_text(r["as_of"]),
        )
    Console(highlight=False).print(table)


@click.group()
def demand() -> None:
    """Demand sensing: order rates against their baselines."""


@demand.command()
@click.option("--all", "every", is_flag=True, help="Every series, not only those in a shift.")
@click.option("--limit", default=50, show_default=True, help="How many, largest departure first.")
@click.option("--schema", default=None, help="Serving schema (default: views).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per series.")
def shifts(every: bool, limit: int, schema: str | None, as_json: bool) -> None:
    """Series whose order rate is in a shift (up or down), largest departure first."""
    from views.store import opened
    from views.supply import figure_text, read_demand

    settings = build_settings(schema)
    with opened(settings.libpq_dsn, settings.db_schema) as store:
        store.ensure_schema()
        rows = read_demand(store.conn, store.schema, shifted_only=not every, limit=limit)
    if as_json:
        for row in rows:
            click.echo(_json(row))
        return
    if not rows:
        click.echo("no demand shift open" if not every else "no demand series yet")
        return
    for r in rows:
        t = {
            key: figure_text(r[key]) for key in ("bucket_start", "quantity", "baseline", "sd", "z")
        }
        click.echo(
            f"{r['series']:<36} {(r['shift'] or '-'):<5} last bucket {t['bucket_start']} "
            f"qty {t['quantity']} baseline {t['baseline']} ± {t['sd']} z {t['z']}"
            + (f" since {figure_text(r['since'])}" if r["shift"] else "")
        )
