"""``scv sim init``: build the master data and opening stock from a seed, and write them.

The world is built in memory first (pure, deterministic for a seed and profile), then written
in bulk to both databases. Quantities in EA; 2% of items are cold chain and live only at the
cold site; ~3% have no GTIN; ~20% are lot-controlled; ~5% have a branch-specific case size.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, insert

from legacy_sim import gs1, rows
from legacy_sim.profiles import SITES, Profile
from legacy_sim.quirks import wms_key
from legacy_sim.rows import Moment, Row
from legacy_sim.schemas import erp, wms
from legacy_sim.state import Balance, Item, Party, Site, Stock, World

_WORDS = (
    "ACME", "BOLT", "CLIP", "DISC", "ECHO", "FLUX", "GRIP", "HOOK", "IRIS", "JOLT",
    "KNOB", "LENS", "MAST", "NODE", "OPAL", "PIKE", "QUAD", "REED", "SLAT", "TUBE",
)  # fmt: skip
_COLOURS = ("BLU", "RED", "GRN", "BLK", "WHT", "YEL", "ORG", "GRY")
_COLD_WORDS = ("VACCINE", "INSULIN", "SERUM", "BIOLOGIC")
#: Made-up consignees: "Northgate Grocers Inc", "418 Maple Ave", "Columbus".
_COMPANY_A = (
    "Northgate", "Riverside", "Lakeview", "Summit", "Harbor", "Prairie", "Redwood", "Bluewater",
    "Granite", "Maple Leaf", "Coastal", "Pioneer", "Evergreen", "Silverline", "Keystone",
)  # fmt: skip
_COMPANY_B = (
    "Grocers", "Pharmacy", "Hardware", "Outfitters", "Supply", "Market", "Distributors",
    "Health", "Home Center", "Foods",
)  # fmt: skip
_COMPANY_C = ("Inc", "LLC", "Co", "Corp", "Ltd")
_STREETS = (
    "Maple Ave", "Oak St", "Main St", "Elm St", "Cedar Rd", "Industrial Pkwy", "Commerce Dr",
    "Lakeshore Blvd", "Market St", "Mill Rd", "Harbor Way", "Park Ave",
)  # fmt: skip
_CITIES = (
    "Columbus", "Memphis", "Reno", "Toledo", "Boise", "Tulsa", "Fresno", "Albany", "Wichita",
    "Spokane", "Dayton", "Omaha", "Hamilton", "Sacramento", "Knoxville", "Savannah",
)  # fmt: skip


def _zone_code(site_index: int, zone: int) -> str:
    return f"{site_index + 1}{zone}"


def _loc_code(zone: str, n: int) -> str:
    """``'12AB0203'``: zone 12, aisle AB, bay 02, level 03 (4 levels x 100 bays per aisle)."""
    aisle = n // 400
    return (
        f"{zone}{chr(65 + aisle // 26 % 26)}{chr(65 + aisle % 26)}{n // 4 % 100:02d}{n % 4 + 1:02d}"
    )


def build_world(seed: int, profile: Profile) -> World:
    """The opening picture, deterministic for (seed, profile)."""
    rng = random.Random(f"init:{seed}:{profile.name}")
    sites: dict[str, Site] = {}
    for i, spec in enumerate(SITES):
        z = _zone_code(i, 9)
        sites[spec.mcu] = Site(
            mcu=spec.mcu,
            name=spec.name,
            tz=spec.tz,
            cold=spec.cold,
            stage_loc=f"{z}STAGE01",
            doors=[f"{z}DOOR{d:02d}" for d in range(1, profile.doors_per_site + 1)],
            reserve_locs=[
                _loc_code(_zone_code(i, 5), r) for r in range(profile.reserve_locs_per_site)
            ],
        )
    cold_step = min(50, profile.items // 3)  # 2% cold chain, at least 3 items
    items: dict[int, Item] = {}
    for n in range(profile.items):
        itm = 60000 + n
        cold = n % cold_step == 7 % cold_step
        word = rng.choice(_COLD_WORDS) if cold else rng.choice(_WORDS)
        ca = rng.choice((6, 12, 12, 24, 48))
        price = Decimal(rng.randint(99, 9999)).scaleb(-2)
        item = Item(
            itm=itm,
            litm=f"{word[:4]}-{1000 + n}-{rng.choice(_COLOURS)}",
            aitm="" if rng.random() < 0.03 else gs1.gtin14(n + 1),
            dsc=f"{word.title()} {rng.choice(_COLOURS).lower()} {ca}-pack"[:30],
            cold=cold,
            lot_controlled=cold or rng.random() < 0.2,
            shelf_life=rng.choice((180, 365, 730)) if not cold else 120,
            ca=ca,
            pl_ca=rng.choice((20, 40, 48, 60)),
            price=price,
            cost=(price * Decimal("0.62")).quantize(Decimal("0.0001")),
        )
        if rng.random() < 0.05:
            item.branch_ca[rng.choice(list(sites))] = ca * 2
        items[itm] = item
    currencies_c = ("USD",) * 17 + ("CAD", "CAD", "JPY")
    # Consignee names and addresses come from their own generator, so adding them left every
    # other value of a seed's world as it was.
    addresses = random.Random(f"consignees:{seed}:{profile.name}")
    customers = [
        Party(
            an8=100000 + n,
            name=f"Customer {n:05d}",
            currency=rng.choice(currencies_c),
            company=" ".join(
                (
                    addresses.choice(_COMPANY_A),
                    addresses.choice(_COMPANY_B),
                    addresses.choice(_COMPANY_C),
                )
            ),
            address1=f"{addresses.randint(1, 9999)} {addresses.choice(_STREETS)}",
            city=addresses.choice(_CITIES),
        )
        for n in range(profile.customers)
    ]
    currencies_s = ("USD",) * 5 + ("EUR", "JPY", "VND")
    suppliers = [
        Party(an8=500000 + n, name=f"Supplier {n:04d}", currency=rng.choice(currencies_s))
        for n in range(profile.suppliers)
    ]
    world = World(
        seed=seed,
        profile=profile.name,
        sites=sites,
        items=items,
        customers=customers,
        suppliers=suppliers,
        stock={},
        balances={},
        site_items={},
    )
    for i, site in enumerate(sites.values()):
        ambient = [it for it in items.values() if not it.cold]
        stocked = ambient
        if site.cold:
            stocked = [it for it in items.values() if it.cold] + ambient[
                : max(10, len(ambient) // 3)
            ]
        # Popularity order: a fixed shuffle per site; the workload draws with Zipf weights.
        order = [it.itm for it in stocked]
        rng.shuffle(order)
        world.site_items[site.mcu] = order
        if site.cold:
            for s in range(profile.sensors):
                site.sensors[f"PRB-{site.mcu}-{s + 1:02d}"] = f"{_zone_code(i, 1)}COLD{s + 1:02d}"
        for n, itm in enumerate(order):
            item = items[itm]
            zone = 1 if item.cold else 2
            face = _loc_code(_zone_code(i, zone), n)
            bal = Balance(itm=itm, mcu=site.mcu)
            world.balances[f"{itm}|{site.mcu}"] = bal
            qty = rng.randint(*profile.opening_qty)
            _add_stock(world, item, site, face, " ", qty)
            if rng.random() < profile.pallet_share:
                world.counters.sscc += 1
                pallet = gs1.sscc(world.counters.sscc)
                _add_stock(world, item, site, rng.choice(site.reserve_locs), pallet, item.ca * 10)
    return world


def _add_stock(world: World, item: Item, site: Site, loc: str, pallet: str, qty: int) -> None:
    world.counters.lot += 1
    stock = Stock(
        lot=wms_key(world.counters.lot),
        loc=loc,
        id=pallet,
        itm=item.itm,
        mcu=site.mcu,
        qty=qty,
    )
    world.stock[stock.key] = stock
    world.balance(item.itm, site.mcu).pqoh += qty


def _chunks(seq: Sequence[Row], size: int = 2000) -> Iterator[Sequence[Row]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _bulk(conn: Connection, table: Any, data: Sequence[Row], tick: Callable[[int], None]) -> None:
    target: Table = table.__table__
    for chunk in _chunks(data):
        conn.execute(insert(target), list(chunk))
        tick(len(chunk))


def write_world(
    world: World, erp_conn: Connection, wms_conn: Connection, tick: Callable[[int], None]
) -> dict[str, int]:
    """Insert master data and opening stock; returns rows written per table."""
    at = Moment.now()
    first = next(iter(world.sites.values()))
    counts: dict[str, int] = {}

    def put(conn: Connection, model: Any, data: list[Row]) -> None:
        _bulk(conn, model, data, tick)
        counts[model.__tablename__] = len(data)

    put(erp_conn, erp.F0006, [rows.f0006(s, world.company, at) for s in world.sites.values()])
    put(erp_conn, erp.F4101, [rows.f4101(it, first, at) for it in world.items.values()])
    put(
        erp_conn,
        erp.F41002,
        [r for it in world.items.values() for r in rows.f41002(it, first, at)],
    )
    put(
        erp_conn,
        erp.F41021,
        [
            rows.f41021(world, b.itm, world.sites[b.mcu], at, "EP41021")
            for b in world.balances.values()
        ],
    )
    locs: list[Row] = []
    for site in world.sites.values():
        locs.append(rows.loc(site.stage_loc, site, "STAGE", "STAGE", 0, at))
        locs += [rows.loc(d, site, "DOOR", "DOOR", 0, at) for d in site.doors]
        locs += [rows.loc(r, site, "RACK-R", "RACK", int(r[-2:]), at) for r in site.reserve_locs]
    seen = {r["Loc"] for r in locs}
    for stock in world.stock.values():
        if stock.loc not in seen:
            seen.add(stock.loc)
            site = world.sites[stock.mcu]
            zone = "COLD-1" if world.items[stock.itm].cold else "AMB-A"
            locs.append(rows.loc(stock.loc, site, zone, "PICK", int(stock.loc[-2:]), at))
    for site in world.sites.values():
        for loc in site.sensors.values():
            if loc not in seen:
                seen.add(loc)
                locs.append(rows.loc(loc, site, "COLD-1", "RACK", 0, at))
    put(wms_conn, wms.Loc, locs)
    put(
        wms_conn,
        wms.LotAttribute,
        [
            rows.lotattribute(world.items[s.itm], s.lot, f"B{s.lot[-6:]}", world.sites[s.mcu], at)
            for s in world.stock.values()
        ],
    )
    put(
        wms_conn,
        wms.LotxLocxId,
        [rows.lotxlocxid(world, s, world.sites[s.mcu], at) for s in world.stock.values()],
    )
    return counts


def row_estimate(world: World) -> int:
    return (
        len(world.sites)
        + len(world.items) * 2
        + sum(len(i.branch_ca) for i in world.items.values())
        + len(world.balances)
        + len(world.stock) * 3
        + sum(len(s.reserve_locs) + len(s.doors) + 1 for s in world.sites.values())
    )
