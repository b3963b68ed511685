"""The receiver's answers, over HTTP (httpx's ASGI transport), with the database replaced by an
in-memory store that keeps the outbox's uniqueness rule (the real one: the integration test)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from carrier.app import Receiver, build_app
from carrier.store import OutboxRow, Reject, Verdict, body_hash
from carrier.updates import MAX_BODY_BYTES
from transforms.events import from_json

from .updates import body

AT = datetime(2026, 12, 4, 9, 16, tzinfo=UTC)


class MemoryStore:
    def __init__(self) -> None:
        self.outbox: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.refused: list[Reject] = []

    def accept(
        self,
        *,
        carrier: str,
        carrier_event_id: str,
        body: bytes,
        shipment_id: str,
        event_type: str,
        received_at: datetime,
        event: bytes,
    ) -> Verdict:
        key = (carrier, carrier_event_id)
        if key not in self.outbox:
            self.outbox[key] = (body_hash(body), event)
            return "accepted"
        return "duplicate" if self.outbox[key][0] == body_hash(body) else "conflict"

    def reject(self, *, received_at: datetime, status: int, reason: str, body: bytes) -> int:
        self.refused.append(Reject(len(self.refused) + 1, received_at, status, reason, body))
        return len(self.refused)

    def counts(self) -> dict[str, int]:
        n = len(self.outbox)
        return {"outbox": n, "last_seq": n, "rejects": len(self.refused), "relayed": 0}

    def rows(self) -> list[OutboxRow]:
        return [OutboxRow(n, event) for n, (_, event) in enumerate(self.outbox.values(), 1)]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


class Client:
    """Requests to the app in-process (one event loop per request)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, content: bytes = b"") -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://carrier") as c:
                return await c.request(method, path, content=content)

        return asyncio.run(call())


@pytest.fixture
def client(store: MemoryStore) -> Client:
    receiver = Receiver(store, clock=lambda: AT)  # type: ignore[arg-type]
    return Client(build_app(receiver))


def post(client: Client, content: bytes) -> tuple[int, dict[str, str]]:
    answer = client.request("POST", "/v1/tracking", content)
    return answer.status_code, answer.json()


def test_an_update_is_accepted_once_and_its_replay_adds_nothing(
    client: Client, store: MemoryStore
) -> None:
    assert post(client, body("in_transit")) == (
        202,
        {"status": "accepted", "event_type": "shipment.in_transit"},
    )
    assert post(client, body("in_transit"))[0] == 200
    assert len(store.outbox) == 1
    assert store.refused == []
    (row,) = store.rows()
    assert from_json(row.event).recorded_at == AT


def test_a_bad_update_gets_a_422_with_the_reason_and_is_kept(
    client: Client, store: MemoryStore
) -> None:
    bad = orjson.dumps(
        {k: v for k, v in orjson.loads(body("in_transit")).items() if k != "location"}
    )
    status, answer = post(client, bad)
    assert status == 422
    assert answer["reason"] == "in_transit.location: Field required"
    (kept,) = store.refused
    assert (kept.status, kept.reason, kept.body) == (422, answer["reason"], bad)
    assert answer["reject_id"] == str(kept.id)
    assert store.outbox == {}


def test_the_same_carrier_event_id_with_another_body_is_a_409_and_the_first_stands(
    client: Client, store: MemoryStore
) -> None:
    assert post(client, body("picked_up"))[0] == 202
    status, answer = post(client, body("out_for_delivery"))
    assert status == 409
    assert "UPS:UPS-1 was accepted before with another body" in answer["reason"]
    assert [r.status for r in store.refused] == [409]
    (row,) = store.rows()
    assert from_json(row.event).event_type == "shipment.in_transit"


def test_an_oversized_body_is_a_413_kept_cut_at_the_limit(
    client: Client, store: MemoryStore
) -> None:
    status, _ = post(client, b"x" * (MAX_BODY_BYTES * 3))
    assert status == 413
    (kept,) = store.refused
    assert len(kept.body) == MAX_BODY_BYTES


def test_health_answers_the_counts(client: Client) -> None:
    post(client, body("picked_up"))
    post(client, b"{}")
    assert client.request("GET", "/healthz").json() == {
        "outbox": 1,
        "last_seq": 1,
        "rejects": 1,
        "relayed": 0,
    }
