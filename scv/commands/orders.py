"""``scv order``: one order's timeline across the ERP and WMS, and the open orders projected
to miss their promise (the views' ``order_tracking`` and ``open_orders`` tables)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from views.order_store import OrderSummary


def _summary_line(s: OrderSummary) -> str:
    late = f"{s.days_late} day(s) late" if s.late else "on time"
    short = f", SHORT {s.shipped} of {s.ordered}" if s.short_shipped else ""
    return (
        f"{s.order_id:<22} {s.status:<10} promised {s.promised_delivery_date or '-'} "
        f"projected {s.projected_delivery_date or '-'} ({s.projection_basis}) {late}{short}  "
        f"{s.where}"
    )


@click.group()
def order() -> None:
    """Order tracking: timelines, promised vs projected delivery, late orders."""


@order.command()
@click.argument("order_id")
@click.option("--schema", default=None, help="Serving schema (default: views).")
@click.option("--json", "as_json", is_flag=True, help="The order and its steps as one JSON object.")
def track(order_id: str, schema: str | None, as_json: bool) -> None:
    """Show ORDER_ID's timeline: every step with its source system and commit time."""
    from scv.settings import views_settings
    from views.order_store import track_order

    found = track_order(views_settings(schema), order_id)
    s = found.summary
    if as_json:
        import orjson

        steps = [
            {
                "step": st.step,
                "occurred_at": st.occurred_at.isoformat(),
                "system": st.system,
                "committed_at": st.committed_at.isoformat(),
                "line_id": st.line_id,
                "item_id": st.item_id,
                "quantity": None if st.quantity is None else str(st.quantity),
                "detail": st.detail,
                "event_id": str(st.event_id),
            }
            for st in found.steps
        ]
        click.echo(orjson.dumps(s.as_json() | {"steps": steps}).decode())
        return
    click.echo(_summary_line(s))
    for st in found.steps:
        click.echo(
            f"  {st.occurred_at.isoformat():<32} {st.step:<12} {st.system:<4} "
            f"committed {st.committed_at.isoformat():<32} {st.detail}"
        )


@order.command(name="list")
@click.option("--late", is_flag=True, help="Only orders projected to miss their promise.")
@click.option("--schema", default=None, help="Serving schema (default: views).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per order.")
def list_(late: bool, schema: str | None, as_json: bool) -> None:
    """List the open orders (latest state), or with --late those projected to be late."""
    from scv.settings import views_settings
    from views.order_store import list_orders

    found = list_orders(views_settings(schema), late_only=late)
    if as_json:
        import orjson

        for s in found:
            click.echo(orjson.dumps(s.as_json()).decode())
        return
    for s in found:
        click.echo(_summary_line(s))
    click.echo(f"{len(found)} {'late ' if late else ''}open orders")
