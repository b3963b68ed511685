"""The mapper registry: one pure mapper function per captured source table.

A mapper turns one ``ChangeEvent`` into zero or more outputs: canonical events and reference
state updates (``StateUpdate``, e.g. an item's UoM conversions), reading reference data only
through the read-only ``Reference`` it is given. It does no I/O and reads no clock or global, so
the same change always maps to the same events.

    @mapper("erp", "f4211", columns=F4211_COLUMNS)
    def sales_order_lines(change: ChangeEvent, ref: Reference) -> Iterator[Output]: ...

``columns`` is the table's column set as the mapper was written against it: a row carrying a
column outside it with a non-null value is schema drift and goes to quarantine; a new column
that is null (a new nullable column) is tolerated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from transforms.envelope import ChangeEvent, Op, TableRef
from transforms.errors import DuplicateMapper, UnmappedTable
from transforms.events import CanonicalEvent
from transforms.reference import Reference, StateUpdate

Output = CanonicalEvent | StateUpdate
MapperFn = Callable[[ChangeEvent, Reference], Iterable[Output]]


@dataclass(frozen=True, slots=True)
class Mapper:
    system: str
    table: str
    columns: frozenset[str]
    fn: MapperFn
    #: Reference tables are mapped first within a batch (they feed other mappers' lookups).
    reference: bool = False
    #: Operations whose changes map to nothing, whatever their rows hold (the balance updates
    #: that documents already report): skipped before their row images are decoded, which is
    #: most of a message's cost. Their rows are discarded whole, so the column check has
    #: nothing to protect in them; the table's other operations still show schema drift.
    ignored_ops: frozenset[Op] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


class MapperRegistry:
    """Mappers by (system, table). The namespace is not part of the key: the Debezium topic
    prefix already names the source database."""

    def __init__(self) -> None:
        self._mappers: dict[tuple[str, str], Mapper] = {}

    def register(self, entry: Mapper) -> None:
        key = (entry.system, entry.table)
        if key in self._mappers:
            raise DuplicateMapper(
                f"two mappers for {entry.system}.{entry.table}: "
                f"{self._mappers[key].name} and {entry.name}"
            )
        self._mappers[key] = entry

    def lookup(self, table: TableRef) -> Mapper:
        try:
            return self._mappers[(table.system, table.table)]
        except KeyError:
            raise UnmappedTable(str(table)) from None

    def __contains__(self, table: TableRef) -> bool:
        return (table.system, table.table) in self._mappers

    def __iter__(self) -> Iterator[Mapper]:
        return iter(sorted(self._mappers.values(), key=lambda m: (m.system, m.table)))

    def __len__(self) -> int:
        return len(self._mappers)


DEFAULT_REGISTRY = MapperRegistry()


def mapper(
    system: str,
    table: str,
    *,
    columns: Iterable[str],
    reference: bool = False,
    ignores: Iterable[Op] = (),
    registry: MapperRegistry | None = None,
) -> Callable[[MapperFn], MapperFn]:
    """Register the decorated function as the mapper of ``system``.``table``."""

    def decorate(fn: MapperFn) -> MapperFn:
        target = DEFAULT_REGISTRY if registry is None else registry
        entry = Mapper(system, table, frozenset(columns), fn, reference, frozenset(ignores))
        target.register(entry)
        return fn

    return decorate


def default_registry() -> MapperRegistry:
    """The registry with every mapper module imported (their decorators register them)."""
    import transforms.mappers  # noqa: F401  (imported for its registrations)

    return DEFAULT_REGISTRY
