"""Consumer lag per reader and partition: how many records each has not consumed yet.

Lag of a partition = its high watermark - the reader's next offset (committed by the
pipeline's consumer group in Kafka, stored by the views in their serving database). The high
watermark counts transaction markers and aborted records too, so an idle reader of a
transactional topic shows a lag of at most the markers written after its last read record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Partition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class LagRow:
    reader: str
    topic: str
    partition: int
    next_offset: int | None
    end: int

    @property
    def lag(self) -> int:
        return self.end - max(self.next_offset or 0, 0)


def lag_rows(reader: str, next_offsets: Mapping[Partition, int], ends: Mapping[Partition, int]
             ) -> list[LagRow]:  # fmt: skip
    """One row per partition of ``ends``; a partition the reader never read has no offset."""
    return [
        LagRow(reader, topic, partition, next_offsets.get((topic, partition)), end)
        for (topic, partition), end in sorted(ends.items())
    ]
