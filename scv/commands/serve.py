"""``scv serve``: the web console (stock, orders, alerts, quality, suppliers, demand, pipeline),
``/metrics`` and ``/schemas`` on one port."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.routing import BaseRoute

    from connectors.ops import Spec
    from connectors.settings import ConnectorsSettings
    from transforms.settings import TransformsSettings
    from views.settings import ViewsSettings


def metrics_routes(
    transforms: TransformsSettings,
    views: ViewsSettings,
    specs: Sequence[Spec],
    connectors: ConnectorsSettings,
    log: Callable[[str], None],
) -> list[BaseRoute]:
    """The console's routes beside its pages (docs/metrics.md):

    - ``/metrics``: every stage's lag and the connectors in Prometheus' text format, read at
      each scrape (``scv.observe.stack_registry``; Starlette answers ``/metrics`` with a
      redirect to ``/metrics/``);
    - ``/schemas``: the canonical JSON Schemas each event's ``dataschema`` names
      (``transforms.schemaserve.SchemaApp``)."""
    from starlette.routing import Mount

    import metrics
    from scv.observe import stack_registry
    from transforms.schemaserve import SchemaApp

    registry = stack_registry(transforms, views, (specs, connectors), log)
    return [
        Mount("/metrics", app=metrics.asgi_app(registry)),
        Mount("/schemas", app=SchemaApp()),
    ]


@click.command()
@click.option("--port", type=int, default=None, help="Port (default 18080, SCV_CONSOLE_PORT).")
@click.option(
    "--host",
    default=None,
    help="Address to listen on (default 127.0.0.1). Beyond loopback a sign-in token is "
    "required: SCV_CONSOLE_TOKEN, else the local stack's console.token.",
)
def serve(port: int | None, host: str | None) -> None:
    """Serve the web console until Ctrl-C."""
    from connectors.specs import DEFAULT_SPECS, load_specs
    from console.app import create_app
    from console.live import LiveSources
    from console.serve import check_binding
    from console.serve import serve as run
    from scv.settings import (
        connectors_settings,
        console_settings,
        quality_settings,
        transforms_settings,
        views_settings,
    )

    settings = console_settings(host, port)
    check_binding(settings)  # before reading the other settings: the one line that matters

    def log(line: str) -> None:
        click.echo(f"console: {line}", err=True)

    transforms, views = transforms_settings(warn=log), views_settings()
    connectors, specs = connectors_settings(), list(load_specs(DEFAULT_SPECS).values())
    sources = LiveSources(settings, views, transforms, quality_settings(), connectors, specs)
    routes = metrics_routes(transforms, views, specs, connectors, log)
    app = create_app(settings, sources, extra_routes=routes)
    run(settings, app, ready=lambda url: click.echo(f"scv console: {url}", err=True))
