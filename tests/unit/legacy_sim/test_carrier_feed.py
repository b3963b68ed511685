"""Carrier journeys: what is posted, in which order, and what the ledger says they must produce.

Each journey's bodies are checked with the receiver's own parser (``carrier.updates``): a
journey the receiver would refuse (other than the malformed updates it means to send) fails
here rather than at the end of an integration run.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from carrier.updates import Refused, parse
from legacy_sim import carrier_feed
from legacy_sim.carrier_feed import CANONICAL_TYPE, Journey, plan_journey
from legacy_sim.verify import expected_from_ledger

AT = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def journey(seed: int, n: int = 0) -> Journey:
    return plan_journey(
        random.Random(f"{seed}"),
        shipment_id=f"MB{n:07d}",
        order_id=f"00001-SO-{n}",
        wms_order_key=f"{n:010d}",
        dispatched_at=AT,
    )


def journeys(count: int = 400) -> list[Journey]:
    rng = random.Random("journeys")
    return [
        plan_journey(rng, shipment_id=f"MB{n:07d}", order_id=f"O{n}", wms_order_key=f"{n}",
                     dispatched_at=AT)
        for n in range(count)
    ]  # fmt: skip


def test_a_seed_gives_the_same_journey() -> None:
    assert journey(7) == journey(7)
    assert journey(7) != journey(8)


@pytest.mark.parametrize("seed", range(40))
def test_every_well_formed_post_is_an_update_the_receiver_accepts_and_the_ledger_expects(
    seed: int,
) -> None:
    j = journey(seed)
    accepted: dict[str, str] = {}
    for post in j.posts:
        if post.malformed:
            with pytest.raises(Refused):
                parse(post.body)
            continue
        update = parse(post.body)
        assert update.shipment.shipment_id == j.shipment_id
        accepted[update.event_id] = CANONICAL_TYPE[update.type]
    expected = {e["carrier_event_id"]: e["type"] for e in j.events if not e.get("derived")}
    # Each distinct update posted (duplicates counted once) is one expected event, and back.
    assert accepted == expected
    rejected = [e for e in j.events if e["type"] == "carrier.rejected"]
    assert len(rejected) == sum(p.malformed for p in j.posts)


def test_each_journey_ends_delivered_or_failed_and_is_picked_up_first() -> None:
    for j in journeys(200):
        kinds = [orjson.loads(p.body)["type"] for p in j.posts]
        happened = sorted(
            {orjson.loads(p.body)["event_id"]: orjson.loads(p.body) for p in j.posts}.values(),
            key=lambda u: u["occurred_at"],
        )
        assert happened[0]["type"] == "picked_up"
        assert happened[-1]["type"] == ("exception" if j.outcome == "failed" else "delivered")
        assert ("eta_changed" in kinds) == (j.outcome == "late")


def test_a_late_journey_delivers_after_its_first_eta() -> None:
    late = [j for j in journeys() if j.outcome == "late"]
    assert late
    for j in late:
        updates = [orjson.loads(p.body) for p in j.posts]
        eta = next(u for u in updates if u["type"] == "eta_changed")
        delivered = next(u for u in updates if u["type"] == "delivered")
        assert eta["eta"] > eta["previous_eta"]
        assert delivered["occurred_at"] > eta["previous_eta"]
        # The ledger keeps the new ETA: what the order's projection must follow.
        entry = next(e for e in j.events if e["type"] == "shipment.eta_changed")
        assert entry["eta"] == eta["eta"]
        done = next(e for e in j.events if e["type"] == "shipment.delivered")
        assert done["occurred_at"] == delivered["occurred_at"]


def test_the_feed_has_every_defect_in_about_its_share() -> None:
    all_journeys = journeys()
    outcomes = Counter(j.outcome for j in all_journeys)
    n = len(all_journeys)
    assert outcomes["failed"] == pytest.approx(n * carrier_feed.FAILED_SHARE, rel=0.5)
    late_share = (1 - carrier_feed.FAILED_SHARE) * carrier_feed.LATE_SHARE
    assert outcomes["late"] == pytest.approx(n * late_share, rel=0.5)
    posts = [p for j in all_journeys for p in j.posts]
    bodies = Counter(p.body for p in posts)
    assert sum(c - 1 for c in bodies.values()) > 0, "no duplicate deliveries"
    assert sum(p.malformed for p in posts) > 0, "no malformed updates"
    out_of_order = 0
    for j in all_journeys:
        times = [orjson.loads(p.body)["occurred_at"] for p in j.posts]
        out_of_order += any(a > b for a, b in itertools.pairwise(times))
    assert out_of_order > 0, "no update posted before one that happened earlier"
    # Lost scans: hub scans planned (event ids are numbered in order) but never posted.
    lost = 0
    for j in all_journeys:
        ids = {orjson.loads(p.body)["event_id"] for p in j.posts}
        numbers = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
        lost += numbers[-1] + 1 - len(numbers)
    assert lost > 0, "no lost scans"


def test_verify_expects_one_fact_per_distinct_update_and_does_not_check_the_rejects() -> None:
    j = journey(3)
    ledger_row = {"committed": True, "verdict": "pass", "events": list(j.events)}
    expected = expected_from_ledger([ledger_row])
    total = sum(sum(c.values()) for c in expected.facts.values())
    assert total == sum(1 for e in j.events if not e.get("derived"))
    assert expected.not_checked["carrier.rejected"] == sum(p.malformed for p in j.posts)
