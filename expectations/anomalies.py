"""The simulator's anomaly kinds → the rule that must quarantine each (the ``__rule.name``
header of its quarantine record): a gating-suite ``rule_id``, or the reason a mapper gives
(``map:`` prefix) when the defect cannot even become a canonical event.

Kept next to the suites because a renamed rule must rename its entry here; a unit test checks
every gate rule exists and every anomaly of ``legacy_sim.anomalies.DEFECTS`` is covered.
"""

from __future__ import annotations

from typing import Final

EXPECTED_RULES: Final[dict[str, tuple[str, str]]] = {
    # anomaly kind: (event type or "" when the mapper refuses the row, first failed rule)
    "unknown_sku": ("", "map:unknown_item"),
    "negative_quantity": ("order.placed", "quantity_positive"),
    "fractional_count_quantity": ("order.placed", "quantity_whole_count_unit"),
    "zero_julian_date": ("order.placed", "order_date_present"),
    "impossible_julian_date": ("", "map:invalid_date"),
    "unknown_status": ("order.placed", "status_known"),
    "duplicate_line": ("order.placed", "line_not_duplicated"),
    "blank_location": ("", "map:unknown_location"),
    "temperature_out_of_range": ("temperature.recorded", "temperature_physical_range"),
    "duplicate_reading": ("temperature.recorded", "reading_not_duplicated"),
}


def expected_rule(anomaly: str) -> str | None:
    """The ``__rule.name`` a quarantined record of ``anomaly`` carries (None: unknown kind)."""
    entry = EXPECTED_RULES.get(anomaly)
    return None if entry is None else entry[1].removeprefix("map:")
