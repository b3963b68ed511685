"""Event-time clocks per canonical partition, for the views that judge "has time passed".

Kafka orders records within a partition, not across partitions, and the view process reads
many partitions at their own pace: one partition may be read minutes ahead of another (a
backlog, a slow broker fetch). A clock taken as the largest event time seen anywhere would
run ahead on the fastest partition and declare a bucket complete, or a promise broken, while
the events that would say otherwise still wait on a slower partition. So:

- each partition's clock is the largest ``occurred_at`` read **on that partition**;
- a question about one aggregate (a PO line: its receipts travel on its partition, keyed by
  ``po_id``) is judged by that partition's clock (``of``);
- a question about many aggregates at once (an item's orders come from every order
  partition) is judged by the **low watermark** of the topic: the smallest clock among the
  topic's partitions that carried an event (``low_watermark``). A partition that never
  carried an event holds nothing back (it has nothing to hold back yet); one that carried
  events and went quiet holds the watermark where its last event left it, which is the
  conservative choice: a late answer, never a wrong one.

The clocks are persisted with the view state in the batch's transaction
(``views.supply``), so a restart resumes with the same clocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

#: (topic, partition)
Where = tuple[str, int]


class PartitionClocks:
    def __init__(self) -> None:
        self.times: dict[Where, datetime] = {}
        self.dirty: set[Where] = set()

    def advance(self, where: Where, moment: datetime) -> datetime:
        """The partition's clock after an event of ``moment`` was read on it."""
        current = self.times.get(where)
        if current is None or moment > current:
            self.times[where] = moment
            self.dirty.add(where)
            return moment
        return current

    def of(self, where: Where) -> datetime | None:
        return self.times.get(where)

    def low_watermark(self, topic: str) -> datetime | None:
        """The smallest clock among ``topic``'s partitions that carried an event."""
        times = [t for (name, _), t in self.times.items() if name == topic]
        return min(times) if times else None

    # -- persistence (kind ``clock`` in ``views.supply``) ---------------------------------------

    @staticmethod
    def key(where: Where) -> str:
        return f"{where[0]}|{where[1]}"

    def load(self, key: str, value: Mapping[str, Any]) -> None:
        topic, _, partition = key.rpartition("|")
        self.times[(topic, int(partition))] = datetime.fromisoformat(value["at"])

    def take_dirty(self) -> Iterator[tuple[str, dict[str, Any]]]:
        dirty, self.dirty = self.dirty, set()
        for where in sorted(dirty):
            yield self.key(where), {"at": self.times[where].isoformat()}
