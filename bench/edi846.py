"""B6: how long one 846 inventory advice takes to build for the midsize profile.

The input is what ``scv edi run`` hands ``edi.plan.plan_846`` on a schedule slot: one
position per site x item of the partner's sites (``views.inventory_positions`` rows) and the
item master, for the 25,000 items of ``legacy_sim``'s midsize profile at every site of the
sample partner ``acme-retail`` (its two DCs: 50,000 positions, every item with a GTIN, so
none is rejected). Measured: ``plan_846`` from the rows to the interchange's bytes (scope
filter, the 846 builder, the X12 writer), ``runs`` times in this process, after one warm-up.
Not measured: reading the rows from PostgreSQL and writing the file (the outbox's fsync).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from edi.epcis import check_digit
from edi.plan import Controls, Document, Item, StockRow, plan_846
from edi.profile import load_partners
from legacy_sim.profiles import PROFILES

PARTNER = "acme-retail"


def positions(items: int, sites: list[str]) -> tuple[list[StockRow], dict[str, Item]]:
    """Deterministic positions: every item at every site, stock varying with the item."""
    master: dict[str, Item] = {}
    rows: list[StockRow] = []
    for n in range(items):
        item_id = f"ITEM-{n:06d}"
        body = f"0614141{n:06d}".zfill(13)
        master[item_id] = Item(gtin=body + check_digit(body), base_uom="EA")
        for site in sites:
            on_hand = Decimal(100 + n % 500)
            allocated = Decimal(n % 37)
            rows.append(
                StockRow(site, item_id, on_hand, allocated, Decimal(0), on_hand - allocated)
            )
    return rows, master


def measure(runs: int = 5, profile: str = "midsize") -> dict[str, Any]:
    partner = load_partners()[PARTNER]
    items = PROFILES[profile].items
    sites = sorted(partner.sites)
    rows, master = positions(items, sites)
    at = datetime(2026, 3, 2, 14, 15, tzinfo=UTC)

    def once() -> tuple[float, int, int]:
        started = time.perf_counter()
        document, _ = plan_846(
            partner, rows, master, controls=Controls(), as_of=at, now=at, business_key="bench"
        )
        seconds = time.perf_counter() - started
        if not isinstance(document, Document):
            raise AssertionError(f"the 846 was rejected: {document}")
        return seconds, len(document.content), document.sets

    once()  # warm-up
    timings = [once() for _ in range(runs)]
    seconds = [t for t, _, _ in timings]
    _, size, sets = timings[0]
    return {
        "profile": profile,
        "partner": PARTNER,
        "items": items,
        "sites": len(sites),
        "positions": len(rows),
        "runs": runs,
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "bytes": size,
        "transaction_sets": sets,
    }
