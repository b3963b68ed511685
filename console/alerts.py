"""Open and recent alerts from the alert log (every record ``scv.alerts.v1`` carries, in order).

An episode is open from its ``raised`` record until its ``resolved`` one (``views.alerts``);
the open alerts are the raised records of the episodes still open, newest first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

Record = Mapping[str, Any]


def open_alerts(log: Iterable[Record]) -> list[Record]:
    """The raise of every episode not resolved since, newest first."""
    opened: dict[str, Record] = {}
    for record in log:
        episode = str(record["episode_id"])
        if record["action"] == "raised":
            opened[episode] = record
        else:
            opened.pop(episode, None)
    return sorted(opened.values(), key=lambda r: str(r["occurred_at"]), reverse=True)


def by_kind(records: Iterable[Record]) -> Counter[str]:
    return Counter(str(r["kind"]) for r in records)


def entity(record: Record) -> str:
    """What the alert concerns, as a person names it."""
    if record.get("order_id"):
        return f"order {record['order_id']}"
    if record.get("sensor_id"):
        return f"sensor {record['sensor_id']}"
    if record.get("site_id") and record.get("item_id"):
        return f"{record['item_id']} at {record['site_id']}"
    return str(record.get("subject", ""))
