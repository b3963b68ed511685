"""Serving a registry: a process's own HTTP port (``--metrics-port``), or an ASGI app the
console mounts at ``/metrics``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app, start_http_server

from metrics.errors import MetricsError

#: Loopback unless told otherwise: the figures name topics, connectors and sites.
DEFAULT_ADDRESS = "127.0.0.1"


def serve(registry: CollectorRegistry, port: int, address: str = DEFAULT_ADDRESS) -> Any:
    """Serve ``registry`` at ``http://address:port/metrics`` on a daemon thread; returns the
    server (``shutdown()`` then ``server_close()`` stop it)."""
    try:
        server, _thread = start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        raise MetricsError(
            f"cannot serve metrics on {address}:{port}: {exc.strerror or exc}"
        ) from None
    return server


def serve_address() -> str:
    return DEFAULT_ADDRESS


def asgi_app(registry: CollectorRegistry) -> Any:
    """An ASGI app answering the registry in Prometheus text format (mount it at /metrics)."""
    return make_asgi_app(registry=registry)
