"""The webhook receiver: an ASGI app (Starlette) that takes carriers' tracking updates.

``POST /v1/tracking`` with one update as JSON (``carrier.updates`` describes it):

======  ===========================================================================
status  meaning
======  ===========================================================================
202     accepted: in the outbox, its canonical event will reach ``scv.shipment.v1``
200     a duplicate: this carrier event id came before with the same body; nothing added
409     this carrier event id came before with another body: the first one stands (kept
        in the rejects)
413     the body is over ``MAX_BODY_BYTES`` (kept in the rejects, cut to the limit)
422     not a valid update, with the reasons (kept in the rejects)
======  ===========================================================================

``GET /healthz`` answers the outbox, rejects and relay counts. The answer is given after the
database transaction committed, so a 2xx means the update is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from carrier.mapping import to_canonical
from carrier.store import Store
from carrier.updates import MAX_BODY_BYTES, Refused, parse
from transforms.events import to_kafka

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class Receiver:
    """What the routes do, apart from HTTP (one store; its calls are serialised)."""

    def __init__(self, store: Store, clock: Clock = _now) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()

    def receive(self, body: bytes) -> tuple[int, dict[str, str]]:
        """(HTTP status, JSON answer) for one webhook body."""
        received_at = self.clock()
        try:
            update = parse(body)
        except Refused as refused:
            status = 413 if len(body) > MAX_BODY_BYTES else 422
            return self._reject(received_at, status, refused.reason, body[:MAX_BODY_BYTES])
        event = to_canonical(update, received_at)
        with self._lock:
            verdict = self.store.accept(
                carrier=update.carrier,
                carrier_event_id=update.event_id,
                body=body,
                shipment_id=update.shipment.shipment_id,
                event_type=event.event_type,
                received_at=received_at,
                event=to_kafka(event).value,
            )
        if verdict == "conflict":
            reason = (
                f"carrier event id {update.carrier}:{update.event_id} was accepted before with "
                "another body; the first one stands"
            )
            return self._reject(received_at, 409, reason, body)
        status = 202 if verdict == "accepted" else 200
        return status, {"status": verdict, "event_type": event.event_type}

    def _reject(
        self, received_at: datetime, status: int, reason: str, body: bytes
    ) -> tuple[int, dict[str, str]]:
        with self._lock:
            reject_id = self.store.reject(
                received_at=received_at, status=status, reason=reason, body=body
            )
        return status, {"status": "rejected", "reason": reason, "reject_id": str(reject_id)}

    def health(self) -> dict[str, int]:
        with self._lock:
            return self.store.counts()


def build_app(receiver: Receiver) -> Starlette:
    """The ASGI app over ``receiver``."""

    async def post_tracking(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                break  # enough to refuse it: the rest is not read
        status, answer = await run_in_threadpool(receiver.receive, bytes(body))
        return JSONResponse(answer, status_code=status)

    async def healthz(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(receiver.health))

    return Starlette(
        routes=[
            Route("/v1/tracking", post_tracking, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
