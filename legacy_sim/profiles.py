"""Size profiles for ``scv sim init``: a small demo and the mid-size distributor of §8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class SiteSpec:
    mcu: str
    name: str
    tz: str
    cold: bool


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    items: int
    customers: int
    suppliers: int
    reserve_locs_per_site: int
    doors_per_site: int
    sensors: int  # cold-room probes at the cold site
    opening_qty: tuple[int, int]  # EA per pick face, min..max
    pallet_share: float  # share of item x site with an extra reserve pallet


SITES: Final = (
    SiteSpec("20001", "Chicago DC", "America/Chicago", cold=False),
    SiteSpec("20002", "Reno DC", "America/Los_Angeles", cold=False),
    SiteSpec("30001", "Newark Cold DC", "America/New_York", cold=True),
)

PROFILES: Final[dict[str, Profile]] = {
    "demo": Profile(
        name="demo",
        items=60,
        customers=25,
        suppliers=8,
        reserve_locs_per_site=30,
        doors_per_site=4,
        sensors=3,
        opening_qty=(200, 800),
        pallet_share=0.3,
    ),
    # Research §8: 25k SKUs, 3 DCs (one with cold rooms), 5k ship-tos, 800 suppliers, 20 doors.
    "midsize": Profile(
        name="midsize",
        items=25_000,
        customers=5_000,
        suppliers=800,
        reserve_locs_per_site=5_000,
        doors_per_site=20,
        sensors=12,
        opening_qty=(100, 600),
        pallet_share=0.5,
    ),
}
