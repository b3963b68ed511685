"""Carrier journeys: each dispatched shipment's tracking updates, posted to the receiver.

``scv sim run --carrier`` gives every committed ``shipment.dispatched`` a journey
(``plan_journey``, a pure function of the shipment and a random generator): picked up, one to
three hub scans, out for delivery, then delivered with a proof of delivery, or a delivery
exception with a reason code (``FAILED_SHARE``). A share of journeys runs late
(``LATE_SHARE``): an ETA change pushes the estimate past the first one, and the delivery
happens after it. The feed is as carriers send it: scans lost (``LOST_SCAN_SHARE``: never
posted), updates sent twice (``DUPLICATE_SHARE``: the same body again later), neighbours
posted in swapped order (``SWAP_SHARE``), and now and then a malformed update
(``MALFORMED_SHARE``: a hub scan without its location) that the receiver must refuse.

What each journey must produce goes into the dispatch transaction's ledger row: one
``shipment.*`` event per distinct well-formed update posted (type, shipment, carrier event
id), nothing for a lost scan or a duplicate, and a ``carrier.rejected`` entry (derived: not a
canonical event, counted by the receiver's rejects) per malformed one. ``sim verify`` checks
the first against ``scv.shipment.v1``.

``CarrierFeed`` posts the journeys over HTTP (httpx) from a background thread, each update at
its due time (business hours compressed to fractions of a wall second), and retries a post
the receiver did not answer (down, restarting) until ``RETRY_FOR_S``: a real carrier retries
its webhooks too. This module imports no stage: it speaks the receiver's wire format only.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

#: Shares of journeys (or of updates, for the feed's defects); see the module docstring.
FAILED_SHARE = 0.08
LATE_SHARE = 0.15
LOST_SCAN_SHARE = 0.15
DUPLICATE_SHARE = 0.12
SWAP_SHARE = 0.12
MALFORMED_SHARE = 0.04
#: Wall seconds per business hour of a journey (a 48 h journey is posted in about 2.4 s).
WALL_S_PER_HOUR = 0.05
#: How long the feed keeps retrying a post the receiver does not answer.
RETRY_FOR_S = 120.0
CARRIERS = ("UPS", "DHL", "FEDEX", "GEODIS")
HUBS = (
    ("Lyon", "ARA", "FR"),
    ("Paris", "IDF", "FR"),
    ("Lille", "HDF", "FR"),
    ("Frankfurt", "HE", "DE"),
    ("Koeln", "NW", "DE"),
    ("Milano", "MI", "IT"),
)
REASONS = ("RECIPIENT_ABSENT", "ADDRESS_INCORRECT", "REFUSED", "DAMAGED")

#: Ledger type of a canonical event per update type.
CANONICAL_TYPE = {
    "picked_up": "shipment.in_transit",
    "in_transit": "shipment.in_transit",
    "out_for_delivery": "shipment.in_transit",
    "delivered": "shipment.delivered",
    "exception": "shipment.delivery_exception",
    "eta_changed": "shipment.eta_changed",
}


@dataclass(frozen=True, slots=True)
class Post:
    """One webhook body and when to post it (wall seconds after the dispatch)."""

    due_s: float
    body: bytes
    malformed: bool = False


@dataclass(frozen=True, slots=True)
class Journey:
    shipment_id: str
    outcome: str  # on_time | late | failed
    posts: tuple[Post, ...]
    #: Ledger entries: what the journey must produce.
    events: tuple[dict[str, Any], ...]


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def plan_journey(
    rng: random.Random,
    *,
    shipment_id: str,
    order_id: str,
    wms_order_key: str,
    dispatched_at: datetime,
) -> Journey:
    """The updates of one shipment's journey, the order they are posted in, and the ledger."""
    carrier = rng.choice(CARRIERS)
    tracking_no = f"{carrier[:2]}{rng.randint(10**11, 10**12 - 1)}"
    refs = {"shipment_id": shipment_id, "order_id": order_id, "wms_order_key": wms_order_key}
    transit_h = rng.uniform(18, 60)
    first_eta = dispatched_at + timedelta(hours=transit_h)
    outcome = "failed" if rng.random() < FAILED_SHARE else "on_time"
    if outcome == "on_time" and rng.random() < LATE_SHARE:
        outcome = "late"
    # (business hours after dispatch, update fields) in the order they happened.
    steps: list[tuple[float, dict[str, Any]]] = [(rng.uniform(0.5, 3), {"type": "picked_up"})]
    scans = rng.randint(1, 3)
    for n in range(scans):
        city, region, country = rng.choice(HUBS)
        at = transit_h * (n + 1) / (scans + 2)
        location = {"city": city, "region": region, "country": country}
        steps.append((at, {"type": "in_transit", "location": location}))
    final_h = transit_h
    if outcome == "late":
        delay_h = rng.uniform(6, 48)
        final_h = transit_h + delay_h
        new_eta = first_eta + timedelta(hours=delay_h)
        steps.append(
            (
                transit_h * 0.6,
                {"type": "eta_changed", "eta": _iso(new_eta), "previous_eta": _iso(first_eta)},
            )
        )
    steps.append((final_h - rng.uniform(1, 4), {"type": "out_for_delivery"}))
    if outcome == "failed":
        steps.append((final_h, {"type": "exception", "reason_code": rng.choice(REASONS)}))
    else:
        pod = {"signed_by": rng.choice(("J. MARTIN", "A. SCHMIDT", "RECEPTION", "DOCK 3"))}
        steps.append((final_h, {"type": "delivered", "proof_of_delivery": pod}))
    steps.sort(key=lambda s: s[0])

    posts: list[Post] = []
    events: list[dict[str, Any]] = []
    for n, (hours, fields) in enumerate(steps):
        event_id = f"{carrier}-{shipment_id}-{n:02d}"
        update = {
            "event_id": event_id,
            "carrier": carrier,
            "occurred_at": _iso(dispatched_at + timedelta(hours=hours)),
            "tracking_no": tracking_no,
            "shipment": refs,
        } | fields
        due = hours * WALL_S_PER_HOUR
        # Lost scans: only hub scans go missing (the start and the end always arrive).
        if fields["type"] == "in_transit" and rng.random() < LOST_SCAN_SHARE:
            continue
        if fields["type"] == "in_transit" and rng.random() < MALFORMED_SHARE:
            broken = {k: v for k, v in update.items() if k != "location"}
            posts.append(Post(due, orjson.dumps(broken), malformed=True))
            events.append(
                {"type": "carrier.rejected", "key": shipment_id, "carrier_event_id": event_id,
                 "derived": True}
            )  # fmt: skip
            continue
        body = orjson.dumps(update)
        posts.append(Post(due, body))
        if rng.random() < DUPLICATE_SHARE:
            posts.append(Post(due + rng.uniform(0.05, 1.0), body))
        ledger_event: dict[str, Any] = {
            "type": CANONICAL_TYPE[fields["type"]],
            "key": shipment_id,
            "carrier_event_id": event_id,
            "order_id": order_id,
        }
        if fields["type"] in ("delivered", "exception"):
            ledger_event["outcome"] = outcome
            ledger_event["first_eta"] = _iso(first_eta)
            ledger_event["occurred_at"] = update["occurred_at"]
        if fields["type"] == "eta_changed":
            # What the views' projection must follow (a late delivery before it happens).
            ledger_event["eta"] = fields["eta"]
        events.append(ledger_event)
    posts.sort(key=lambda p: p.due_s)
    for i in range(len(posts) - 1):
        if rng.random() < SWAP_SHARE:
            a, b = posts[i], posts[i + 1]
            posts[i], posts[i + 1] = (
                Post(a.due_s, b.body, b.malformed),
                Post(b.due_s, a.body, a.malformed),
            )
    return Journey(shipment_id, outcome, tuple(posts), tuple(events))


@dataclass
class FeedStats:
    journeys: int = 0
    posted: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    #: Posts that were answered with something the journey did not expect, or never answered.
    failures: list[str] = field(default_factory=list)


class CarrierFeed:
    """Posts journeys to the receiver at ``url`` from one background thread."""

    def __init__(self, url: str, rng: random.Random) -> None:
        self.url = url
        self.rng = rng
        self.stats = FeedStats()
        self._queue: list[tuple[float, int, Post]] = []
        self._n = 0
        self._cv = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="carrier-feed", daemon=True)
        self._thread.start()

    def on_committed(
        self, tx_events: list[dict[str, Any]], keys: dict[str, Any], at: datetime
    ) -> None:
        """Hook of ``scv sim run``: a committed transaction's ledger events; a dispatch gets a
        journey, whose entries are appended to ``tx_events`` before the ledger row is made."""
        for event in list(tx_events):
            if event["type"] != "shipment.dispatched":
                continue
            journey = plan_journey(
                self.rng,
                shipment_id=str(event["key"]),
                order_id=str(event["order_id"]),
                wms_order_key=str(keys.get("OrderKey", "")),
                dispatched_at=at,
            )
            tx_events.extend(journey.events)
            self.stats.journeys += 1
            start = time.monotonic()
            with self._cv:
                for post in journey.posts:
                    self._n += 1
                    heapq.heappush(self._queue, (start + post.due_s, self._n, post))
                self._cv.notify()

    def close(self, timeout_s: float = RETRY_FOR_S + 60) -> None:
        """Post everything still queued (at once), then stop."""
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.stats.failures.append(f"{len(self._queue)} updates not posted in {timeout_s} s")

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=10.0) as client:
            while True:
                with self._cv:
                    while not self._queue and not self._closing:
                        self._cv.wait()
                    if not self._queue:
                        return
                    due, _, post = self._queue[0]
                    wait = due - time.monotonic()
                    if wait > 0 and not self._closing:
                        self._cv.wait(wait)
                        continue
                    heapq.heappop(self._queue)
                self._post(client, post)

    def _post(self, client: Any, post: Post) -> None:
        import httpx

        deadline = time.monotonic() + RETRY_FOR_S
        pause = 0.1
        while True:
            try:
                answer = client.post(
                    self.url, content=post.body, headers={"content-type": "application/json"}
                )
            except httpx.TransportError as exc:
                answer = None
                why = f"{type(exc).__name__}"
            else:
                why = f"HTTP {answer.status_code}"
                if answer.status_code < 500:
                    break
            if time.monotonic() > deadline:
                self.stats.failures.append(f"not posted after {RETRY_FOR_S} s ({why})")
                return
            self.stats.retries += 1
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
        self.stats.posted += 1
        status = answer.status_code
        expected = (422,) if post.malformed else (200, 202)
        if status not in expected:
            self.stats.failures.append(f"answered {status} to {post.body[:80]!r}")
        elif status == 202:
            self.stats.accepted += 1
        elif status == 200:
            self.stats.duplicates += 1
        else:
            self.stats.rejected += 1
