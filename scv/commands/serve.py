"""``scv serve``: the web console (stock, orders, alerts, quality, pipeline) on one port."""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from starlette.routing import BaseRoute


def metrics_routes() -> list[BaseRoute]:
    """HOOK(metrics): ``/metrics`` from the ``metrics`` package (issue 20, part 2) if it is
    installed: its ``registry()`` in Prometheus' text format. Until it is, no route.

    Imported by name so that this branch stands without it; once both are merged, a plain
    ``from metrics import registry`` may replace the lookup."""
    if importlib.util.find_spec("metrics") is None:
        return []
    from starlette.routing import Mount

    metrics = importlib.import_module("metrics")
    prometheus = importlib.import_module("prometheus_client")
    return [Mount("/metrics", app=prometheus.make_asgi_app(registry=metrics.registry()))]


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
    sources = LiveSources(
        settings,
        views_settings(),
        transforms_settings(warn=lambda line: click.echo(f"console: {line}", err=True)),
        quality_settings(),
        connectors_settings(),
        list(load_specs(DEFAULT_SPECS).values()),
    )
    app = create_app(settings, sources, extra_routes=metrics_routes())
    run(settings, app, ready=lambda url: click.echo(f"scv console: {url}", err=True))
