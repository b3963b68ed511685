"""Run the console: check where it may listen, then uvicorn until Ctrl-C or SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette

from console.errors import NotOnLoopback
from console.settings import ConsoleSettings


def check_binding(settings: ConsoleSettings) -> None:
    """Beyond loopback only with a sign-in token: the pages show stock and quarantined data,
    and the replay button writes to Kafka."""
    if not settings.on_loopback and settings.token is None:
        raise NotOnLoopback(
            f"refusing to listen on {settings.host} without a sign-in token: set "
            "SCV_CONSOLE_TOKEN (or run a local stack, whose state directory holds one), "
            "or listen on 127.0.0.1"
        )


def serve(
    settings: ConsoleSettings, app: Starlette, *, ready: Callable[[str], None] = lambda _: None
) -> None:
    import uvicorn

    check_binding(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    ready(settings.url)
    server.run()
