"""``scv carrier serve``: the receiver (uvicorn, loopback) and the relay in one process.

The relay runs in a thread with its own database connection; if it fails, the server stops
and the error is raised, so the process exits non-zero rather than accept updates nobody
relays. A ``kill -9`` loses nothing: 2xx answers follow the database commit, and the relay
resumes from its Kafka marker (``carrier.relay``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from carrier.app import Receiver, build_app
from carrier.relay import Relay
from carrier.settings import CarrierSettings
from carrier.store import opened


def serve(settings: CarrierSettings, say: Callable[[str], None]) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    import uvicorn

    dsn = settings.libpq_dsn
    with opened(dsn, settings.db_schema) as store, opened(dsn, settings.db_schema) as relay_store:
        relay = Relay(settings, relay_store)
        position = relay.start()
        say(f"relay resumes after outbox seq {position} -> {settings.shipment_topic}")
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(Receiver(store)),
                host=settings.host,
                port=settings.port,
                log_level="warning",
                access_log=False,
            )
        )
        stop = threading.Event()
        failure: list[BaseException] = []

        def relay_loop() -> None:
            try:
                relay.run(stop)
            # Any failure, a bug included, must stop the server: the main thread re-raises it.
            except Exception as exc:  # noqa: BLE001
                failure.append(exc)
                server.should_exit = True

        thread = threading.Thread(target=relay_loop, name="carrier-relay", daemon=True)
        thread.start()
        say(f"receiving on http://{settings.host}:{settings.port}/v1/tracking")
        try:
            server.run()
        finally:
            stop.set()
            thread.join(timeout=60)
        if failure:
            raise failure[0]
        say(f"relay: {relay.stats.produced} events in {relay.stats.transactions} transactions")
