"""Where a reader starts on each partition, and the gaps it must never skip without a word.

A partition's records can leave the log before a reader got to them: retention deleted their
segment while the reader was stopped (or slow), or someone ran ``delete_records``. A consumer
with ``auto.offset.reset=earliest`` then jumps to the log start silently, and the records in
between are lost to it. So the runner and the views consume with ``auto.offset.reset=error``
and place each partition themselves (``start_positions``, the pure decision):

- no committed offset (a first start): the beginning of the log, given explicitly, since with
  ``error`` librdkafka refuses a partition without a committed offset too;
- a committed offset inside the log: there;
- a committed offset below the log start: a gap, the offsets from it up to the log start are
  gone;
- a committed offset past the log end: a gap too (the topic was re-created or truncated, and
  what the reader had read is not that log any more).

The caller stops on the gaps, naming them (``describe_gaps``), unless the user opted in; then
each gap partition starts at its log start and the skipped range is reported.

librdkafka's side (``rdkafka_offset.c``, ``rd_kafka_offset_reset``): with
``auto.offset.reset=error``, a partition without a committed offset, or whose fetch answers
OFFSET_OUT_OF_RANGE, gets a consumer error ``_AUTO_OFFSET_RESET`` (topic, partition and the
offset it wanted) and stops fetching until it is assigned again; a seek is refused then
(``_STATE``). A logical offset given on assignment (``OFFSET_BEGINNING``) is not a reset and
works whatever the policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient

from kafkaio.admin import Offsets, Partition, high_watermarks, low_watermarks
from kafkaio.retry import DEADLINE_S


@dataclass(frozen=True, slots=True)
class Gap:
    """A partition whose reader's offset is not in its log any more."""

    topic: str
    partition: int
    #: Where the reader was to go on (its committed offset).
    committed: int
    #: The partition's first offset and the offset after its last when it was looked at.
    log_start: int
    log_end: int

    @property
    def below_start(self) -> bool:
        """The offsets from ``committed`` up to ``log_start`` were deleted before being read
        (otherwise the offset is past the log end: the log was re-created or truncated)."""
        return self.committed < self.log_start

    @property
    def lost(self) -> int | None:
        """How many offsets are gone (None: unknown, the log is not the one read before)."""
        return self.log_start - self.committed if self.below_start else None

    @property
    def skipped(self) -> str:
        """What reading on from the log start skips, for a run summary."""
        if self.below_start:
            return f"offsets {self.committed}..{self.log_start - 1} ({self.lost})"
        return f"from offset {self.committed}, past the log end {self.log_end}"

    def describe(self) -> str:
        where = f"{self.topic}[{self.partition}]"
        if self.below_start:
            return (
                f"{where}: committed offset {self.committed} is below the log start "
                f"{self.log_start}: offsets {self.committed}..{self.log_start - 1} "
                f"({self.lost}) were deleted before they were read"
            )
        return (
            f"{where}: committed offset {self.committed} is past the log end {self.log_end} "
            "(the topic was re-created or truncated)"
        )


def start_positions(
    committed: Mapping[Partition, int],
    log_starts: Mapping[Partition, int],
    log_ends: Mapping[Partition, int],
) -> tuple[Offsets, list[Gap]]:
    """Each partition's start, and its gap if its committed offset is not in the log.

    ``committed`` maps every partition to read to its committed offset (negative: none).
    ``log_starts``/``log_ends`` (low and high watermarks) are needed for the partitions with
    a committed offset. A partition without one starts at ``OFFSET_BEGINNING``; a gap
    partition at its log start (the caller decides whether it may)."""
    starts: Offsets = {}
    gaps: list[Gap] = []
    for part, offset in sorted(committed.items()):
        if offset < 0:
            starts[part] = OFFSET_BEGINNING
            continue
        low, high = log_starts[part], log_ends[part]
        if low <= offset <= high:
            starts[part] = offset
            continue
        gaps.append(Gap(part[0], part[1], offset, low, high))
        starts[part] = low
    return starts, gaps


def describe_gaps(gaps: Sequence[Gap]) -> str:
    """One line naming every gap (the first few in full)."""
    shown = 3
    head = "; ".join(gap.describe() for gap in gaps[:shown])
    more = f"; and {len(gaps) - shown} more partitions" if len(gaps) > shown else ""
    return head + more


def resume_positions(
    bootstrap: str,
    committed: Mapping[Partition, int],
    *,
    admin: AdminClient | None = None,
    deadline_s: float = DEADLINE_S,
) -> tuple[Offsets, list[Gap]]:
    """``start_positions`` with the log bounds asked of the cluster (in two round trips, and
    only for the partitions with a committed offset: a first start asks nothing)."""
    known: Iterable[Partition] = [part for part, offset in committed.items() if offset >= 0]
    parts = sorted(known)
    if not parts:
        return start_positions(committed, {}, {})
    lows = low_watermarks(bootstrap, parts, admin=admin, deadline_s=deadline_s)
    highs = high_watermarks(bootstrap, parts, admin=admin, deadline_s=deadline_s)
    return start_positions(committed, lows, highs)
