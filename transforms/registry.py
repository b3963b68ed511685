"""The mapper registry: which mapper maps a captured source table.

``MAPPERS`` lists the mappers in use, one per captured table, and ``default_registry()`` holds
exactly those (importing a mapper module registers nothing); a registry of one's own is
``MapperRegistry([...])``. How a mapper is written and declared: ``transforms.mapping``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from transforms.envelope import TableRef
from transforms.errors import DuplicateMapper, UnmappedTable
from transforms.mappers.erp_f4101 import items
from transforms.mappers.erp_f4211 import sales_order_lines
from transforms.mappers.erp_f4311 import purchase_order_lines
from transforms.mappers.erp_f41002 import uom_conversions
from transforms.mappers.erp_f41021 import item_balances
from transforms.mappers.erp_f42119 import sales_order_history
from transforms.mappers.erp_f43121 import receipts
from transforms.mappers.wms_itrn import inventory_journal
from transforms.mappers.wms_loc import locations
from transforms.mappers.wms_lotattribute import lot_attributes
from transforms.mappers.wms_lotxlocxid import bin_balances
from transforms.mappers.wms_orders import warehouse_orders
from transforms.mappers.wms_pickdetail import pick_details
from transforms.mappers.wms_receiptdetail import receipt_lines
from transforms.mappers.wms_zz_temp_log import probe_readings
from transforms.mapping import Mapper

#: Every mapper in use, one per captured table, in the order of the connector specs' tables.
MAPPERS: tuple[Mapper, ...] = (
    items,
    uom_conversions,
    item_balances,
    sales_order_lines,
    sales_order_history,
    purchase_order_lines,
    receipts,
    locations,
    lot_attributes,
    bin_balances,
    warehouse_orders,
    pick_details,
    inventory_journal,
    receipt_lines,
    probe_readings,
)


class MapperRegistry:
    """Mappers by (system, table). The namespace is not part of the key: the Debezium topic
    prefix already names the source database."""

    def __init__(self, mappers: Iterable[Mapper] = ()) -> None:
        self._mappers: dict[tuple[str, str], Mapper] = {}
        for entry in mappers:
            self.register(entry)

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


def default_registry() -> MapperRegistry:
    """Every mapper of ``MAPPERS``."""
    return MapperRegistry(MAPPERS)
