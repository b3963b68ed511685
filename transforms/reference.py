"""Reference data the mappers need, kept as a replicated key → JSON state.

Mappers look up items (short number ↔ SKU, base unit), UoM conversions (F41002), the site's
time zone and the ERP order behind a WMS ``OrderKey``. Those facts arrive on other topics
than the rows that need them, so mappers emit ``StateUpdate``s next to their events; the runner
writes them to a compacted state topic *in the same Kafka transaction* and every instance
rebuilds the store from that topic at start and catches up before each batch. A restart loses
nothing, and a rolled-back batch leaves no state behind (``StateStore.abort``).

Keys (one fact per key, so two instances never read-modify-write the same key):

    item|<itm>                       {"item_id", "base_uom", "gtin", ...} from f4101
    sku|<item_id>                    {"itm"}                              from f4101
    uom|<itm>|<branch>|<from>|<to>   {"factor"}                           from f41002
    wmsorder|<OrderKey>              {"order_id", "site_id", "shipment_id"} from ORDERS
    loc|<Loc>                        {"facility", "zone", "type", "status"}  from LOC
    probe|<SensorId>                 {"recent": [[epoch, serial], ...]}      from ZZ_TEMP_LOG
    order_lines|<order_id>           {"lines": [[line_no, item_id, qty], ...]} from f4211

``decode_state_record`` reads a record of the state topic back and refuses one the lookups
could not use (not JSON, not an object, a field a lookup indexes missing): the runner skips
it with its reason instead of stopping at every start on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from transforms.errors import InvalidStateRecord, MissingReference
from transforms.events import UomConversion

StateValue = dict[str, Any]

#: How many conversion hops (PL → CA → EA) a UoM conversion may chain.
MAX_UOM_HOPS = 4


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """Set (``value``) or delete (``None``) one reference key."""

    key: str
    value: StateValue | None


@dataclass(frozen=True, slots=True)
class ItemInfo:
    itm: str
    item_id: str
    base_uom: str
    gtin: str | None
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WmsOrderInfo:
    order_key: str
    order_id: str
    site_id: str | None
    shipment_id: str | None


def _is_pair_list(value: object, width: int) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, list) and len(item) == width for item in value
    )


def _ints(value: list[list[Any]]) -> bool:
    return all(type(v) is int for item in value for v in item)


#: A conversion factor beyond this is no conversion (and would overflow the arithmetic).
_FACTOR_LIMIT = Decimal(10) ** 28


def _factor_ok(value: object) -> bool:
    if not isinstance(value, str | int):
        return False
    try:
        factor = Decimal(value)
    except InvalidOperation:
        return False
    return factor.is_finite() and -_FACTOR_LIMIT < factor < _FACTOR_LIMIT


#: Per key prefix: the check a value must pass for that prefix's lookups to read it.
_STATE_CHECKS: dict[str, Callable[[str, StateValue], bool]] = {
    "item": lambda _k, v: isinstance(v.get("item_id"), str) and isinstance(v.get("base_uom"), str),
    "sku": lambda _k, v: v.get("itm") is not None,
    "uom": lambda k, v: k.count("|") >= 4 and _factor_ok(v.get("factor")),
    "wmsorder": lambda _k, v: v.get("order_id") is not None,
    "probe": lambda _k, v: _is_pair_list(v.get("recent", []), 2) and _ints(v.get("recent", [])),
    "order_lines": lambda _k, v: _is_pair_list(v.get("lines", []), 3),
}


def decode_state_record(
    key: bytes | None, value: bytes | None
) -> tuple[str, StateValue | None] | None:
    """A record of the state topic → (key, value) for ``StateStore.load``; ``None`` for a
    record without a key (nothing to load). A value ``None`` is a deletion.

    Raises ``InvalidStateRecord`` (reason ``invalid_state_record``) for a record no lookup
    could use; nothing else escapes, whatever the bytes.
    """
    if key is None:
        return None
    try:
        name = key.decode()
    except UnicodeDecodeError:
        raise InvalidStateRecord("invalid_state_record", f"key {key[:80]!r} is not UTF-8") from None
    if value is None:
        return name, None
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidStateRecord("invalid_state_record", f"{name}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidStateRecord("invalid_state_record", f"{name}: value is not a JSON object")
    check = _STATE_CHECKS.get(name.split("|", 1)[0])
    if check is not None and not check(name, document):
        raise InvalidStateRecord(
            "invalid_state_record", f"{name}: value {value[:200]!r} lacks what its lookup reads"
        )
    return name, document


class StateStore:
    """The in-memory replica with an undo log, so an aborted transaction leaves no trace.

    Up to two batches are open at once (the runner maps the next batch while the previous
    one commits): ``savepoint`` marks where a batch ends, ``commit(savepoint)`` makes the
    updates up to it final, and ``abort`` rolls back every open update.
    """

    def __init__(self) -> None:
        self._data: dict[str, StateValue] = {}
        # itm → {uom key: factor}: conversions of one item without scanning every key.
        self._uoms: dict[str, dict[str, StateValue]] = {}
        self._undo: list[tuple[str, StateValue | None]] = []
        #: Committed records loaded while a batch was open: an abort restores them on top.
        self._loaded: list[tuple[str, StateValue | None]] = []

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> StateValue | None:
        return self._data.get(key)

    def _set(self, key: str, value: StateValue | None) -> None:
        if value is None:
            self._data.pop(key, None)
        else:
            self._data[key] = value
        if key.startswith("uom|"):
            itm = key.split("|", 2)[1]
            by_item = self._uoms.setdefault(itm, {})
            if value is None:
                by_item.pop(key, None)
            else:
                by_item[key] = value

    def apply(self, update: StateUpdate) -> None:
        """Apply inside the open transaction (undone by ``abort``)."""
        self._undo.append((update.key, self._data.get(update.key)))
        self._set(update.key, update.value)

    def load(self, key: str, value: StateValue | None) -> None:
        """Apply a committed record read back from the state topic."""
        self._set(key, value)
        if self._undo:
            self._loaded.append((key, value))

    def savepoint(self) -> int:
        """Where the updates applied so far end (for ``commit``)."""
        return len(self._undo)

    def commit(self, savepoint: int | None = None) -> None:
        """Make the updates up to ``savepoint`` (all by default) final."""
        if savepoint is None or savepoint >= len(self._undo):
            self._undo.clear()
            self._loaded.clear()
        else:
            del self._undo[:savepoint]

    def abort(self) -> None:
        """Undo every update not committed; records loaded meanwhile stay (they are final)."""
        for key, previous in reversed(self._undo):
            self._set(key, previous)
        for key, value in self._loaded:
            self._set(key, value)
        self._undo.clear()
        self._loaded.clear()

    def uoms(self, itm: str) -> list[tuple[str, StateValue]]:
        return sorted(self._uoms.get(itm, {}).items())


class Reference:
    """Read-only lookups over a ``StateStore`` plus static site zones from the settings."""

    def __init__(self, store: StateStore, site_zones: Mapping[str, str]) -> None:
        self._store = store
        self._site_zones = dict(site_zones)
        self._zone_cache: dict[str, ZoneInfo] = {}

    def state(self, key: str) -> StateValue | None:
        return self._store.get(key)

    def site_zone(self, site_id: str | None) -> ZoneInfo:
        if site_id is None:
            raise MissingReference("unknown_site", "row has no business unit / facility")
        zone = self._zone_cache.get(site_id)
        if zone is not None:
            return zone
        name = self._site_zones.get(site_id)
        if name is None:
            raise MissingReference("unknown_site", f"no time zone known for site {site_id!r}")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise MissingReference("unknown_site", f"site {site_id}: bad zone {name!r}") from None
        self._zone_cache[site_id] = zone
        return zone

    def item(self, itm: str) -> ItemInfo:
        record = self._store.get(f"item|{itm}")
        if record is None:
            raise MissingReference("unknown_item", f"item {itm} is not (yet) known")
        return ItemInfo(
            itm=itm,
            item_id=str(record["item_id"]),
            base_uom=str(record["base_uom"]),
            gtin=record.get("gtin"),
            record=record,
        )

    def item_by_sku(self, sku: str) -> ItemInfo:
        entry = self._store.get(f"sku|{sku}")
        if entry is None:
            raise MissingReference("unknown_item", f"SKU {sku!r} is not (yet) known")
        return self.item(str(entry["itm"]))

    def conversions(self, itm: str) -> tuple[UomConversion, ...]:
        result = []
        for key, value in self._store.uoms(itm):
            _, _, branch, from_uom, to_uom = key.split("|", 4)
            result.append(
                UomConversion(
                    from_uom=from_uom,
                    to_uom=to_uom,
                    factor=Decimal(value["factor"]),
                    branch=branch or None,
                )
            )
        return tuple(result)

    def to_base(self, item: ItemInfo, branch: str | None, quantity: Decimal, uom: str) -> Decimal:
        """``quantity`` in ``uom`` → the item's base unit.

        Precedence: item + branch conversions, then item conversions for every branch; either
        direction of a conversion may be used, and conversions chain up to ``MAX_UOM_HOPS``.
        """
        if uom == item.base_uom:
            return quantity
        factor = self._factor(item.itm, branch, uom, item.base_uom)
        if factor is None:
            raise MissingReference(
                "unknown_uom_conversion",
                f"item {item.item_id}: no conversion {uom} → {item.base_uom}"
                + (f" at branch {branch}" if branch else ""),
            )
        return quantity * factor

    def _factor(self, itm: str, branch: str | None, start: str, goal: str) -> Decimal | None:
        edges: dict[str, dict[str, Decimal]] = {}
        # Branch-specific factors are added last so they overwrite all-branch ones.
        convs = sorted(self.conversions(itm), key=lambda c: c.branch is not None)
        for conv in convs:
            if conv.branch is not None and conv.branch != branch:
                continue
            if conv.factor == 0:
                continue
            edges.setdefault(conv.from_uom, {})[conv.to_uom] = conv.factor
            edges.setdefault(conv.to_uom, {}).setdefault(conv.from_uom, 1 / conv.factor)
        frontier: list[tuple[str, Decimal]] = [(start, Decimal(1))]
        seen = {start}
        for _ in range(MAX_UOM_HOPS):
            next_frontier: list[tuple[str, Decimal]] = []
            for unit, acc in frontier:
                for target, factor in sorted(edges.get(unit, {}).items()):
                    if target == goal:
                        return acc * factor
                    if target not in seen:
                        seen.add(target)
                        next_frontier.append((target, acc * factor))
            frontier = next_frontier
        return None

    def wms_order(self, order_key: str) -> WmsOrderInfo:
        record = self._store.get(f"wmsorder|{order_key}")
        if record is None:
            raise MissingReference("unknown_order", f"WMS order {order_key!r} is not (yet) known")
        return WmsOrderInfo(
            order_key=order_key,
            order_id=str(record["order_id"]),
            site_id=record.get("site_id"),
            shipment_id=record.get("shipment_id"),
        )
