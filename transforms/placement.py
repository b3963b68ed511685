"""Where each raw partition is read from: its committed offset, never a silent jump.

The consumer runs with ``auto.offset.reset=error`` and the runner places each assigned
partition itself, at its committed offset, or at the beginning of its log when it has none (a
first start). A committed offset that fell off the log (retention, ``delete_records``) stops
the runner with ``OffsetGap`` naming the partition and the lost range, unless ``allow_gap``
(``--allow-gap``): then the range is logged, counted in ``RunStats.gaps`` and the partition
read on from its log start (``kafkaio.gaps``). A fetch that finds its offset gone later (a
reader slower than retention) stops that partition's fetch (``resets``); the runner settles
the batch in flight and places every partition again from the committed offsets, deciding
the same way. After an aborted batch the consumer is sought back to the committed offsets.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka.admin import AdminClient

import kafkaio
from transforms.clients import committed
from transforms.errors import KafkaTransientError, OffsetGap
from transforms.holds import TopicKey
from transforms.replays import ReplayGuard
from transforms.settings import TransformsSettings
from transforms.stats import RunStats

#: How long looking up where the assigned partitions' logs start and end may take in a
#: rebalance callback (past it the committed offsets are used as they are; a gap then shows
#: when a fetch fails).
LOG_BOUNDS_DEADLINE_S = 10.0


class Placement:
    """Places the assigned partitions and remembers where each started."""

    def __init__(
        self,
        settings: TransformsSettings,
        replays: ReplayGuard,
        stats: RunStats,
        log: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.replays = replays
        self.stats = stats
        self.log = log
        self.admin: AdminClient | None = None
        #: Where each assigned partition started (its committed offset; -1001 if none): the
        #: position of a partition nothing has been read from yet.
        self.start_offsets: dict[TopicKey, int] = {}
        #: Partitions whose fetch stopped on an offset reset (``auto.offset.reset=error``),
        #: with the offset it wanted: every partition is placed again (``place_again``).
        self.resets: dict[TopicKey, int] = {}

    def committed(
        self, consumer: Consumer, partitions: list[TopicPartition]
    ) -> list[TopicPartition]:
        """The partitions' committed offsets, remembered as their starts, with the replay marks
        committed with them (by whichever instance) restored."""
        found = committed(consumer, partitions)
        self.start_offsets.update({(tp.topic, tp.partition): tp.offset for tp in found})
        self.replays.restore(found)
        return found

    def assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """The group gave this instance ``partitions``: place each one."""
        found = self.committed(consumer, partitions)
        try:
            starts = self.starts(found)
        except KafkaTransientError as exc:
            # Not worth failing the rebalance for: a committed offset that is gone makes its
            # fetch fail, and that is handled in the loop (``place_again``).
            self.log(f"{exc}: reading from the committed offsets")
            starts = [
                TopicPartition(
                    tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                )
                for tp in found
            ]
        # Placed explicitly (the eager protocol: ``assign``): with auto.offset.reset=error a
        # partition left to the client without a committed offset would not be read at all.
        consumer.assign(starts)
        self.log(f"assigned {len(partitions)} partitions")

    def revoked(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.start_offsets.pop((tp.topic, tp.partition), None)
        self.replays.forget(partitions)

    def starts(self, found: list[TopicPartition]) -> list[TopicPartition]:
        """Where each partition starts (``kafkaio.start_positions``): its committed offset, or
        the beginning of its log if it has none. A committed offset no longer in the log
        raises ``OffsetGap`` unless ``allow_gap``: then it is logged, counted, and the
        partition starts at its log start."""
        settings = self.settings
        try:
            positions, gaps = kafkaio.resume_positions(
                settings.kafka_bootstrap,
                {(tp.topic, tp.partition): tp.offset for tp in found},
                admin=self.admin,
                deadline_s=LOG_BOUNDS_DEADLINE_S,
            )
        except kafkaio.KafkaIOError as exc:
            raise KafkaTransientError(f"where the raw logs start not known: {exc}") from None
        if gaps and not settings.allow_gap:
            raise OffsetGap(
                f"raw records were deleted before the pipeline read them: "
                f"{kafkaio.describe_gaps(gaps)}. Nothing was skipped; to read on from the log "
                "start, losing them, run `scv pipeline run --allow-gap` "
                "(SCV_TRANSFORMS_ALLOW_GAP=1)",
                gaps,
            )
        for gap in gaps:
            self.log(f"gap skipped (allow_gap): {gap.describe()}; reading on from {gap.log_start}")
            self.stats.gaps.append(gap)
            self.start_offsets[(gap.topic, gap.partition)] = gap.log_start
        starts = []
        for tp in found:
            offset = positions[(tp.topic, tp.partition)]
            if offset == tp.offset and tp.leader_epoch is not None:
                # As the client would start there itself: the epoch lets it validate the
                # offset against the leader's log (KIP-320).
                starts.append(
                    TopicPartition(tp.topic, tp.partition, offset, leader_epoch=tp.leader_epoch)
                )
            else:
                starts.append(TopicPartition(tp.topic, tp.partition, offset))
        return starts

    def seek(self, consumer: Consumer, found: list[TopicPartition]) -> None:
        """After an abort: seek each partition back to its committed offset (``found``, from
        ``committed``). A partition whose fetch stopped on an offset reset cannot be sought
        (librdkafka answers ``_STATE``): it goes to ``resets``, and only an assignment
        restarts it."""
        for tp in found:
            offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            try:
                consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except KafkaException as exc:
                if exc.args[0].code() != RdKafkaError._STATE:
                    raise
                self.resets[(tp.topic, tp.partition)] = offset

    def place_again(
        self, consumer: Consumer, assignment: list[TopicPartition], resets: dict[TopicKey, int]
    ) -> None:
        """Assign ``assignment`` again from the committed offsets (``starts``: a gap raises
        ``OffsetGap`` unless ``allow_gap``); on a transient failure ``resets`` are kept to be
        tried again."""
        try:
            starts = self.starts(self.committed(consumer, assignment))
        except KafkaTransientError:
            self.resets.update(resets)  # tried again after the back-off (``Runner._redo``)
            raise
        consumer.assign(starts)
        self.log(f"assigned {len(starts)} partitions again from the committed offsets")

    def caught_up(self, consumer: Consumer) -> bool:
        """Every assigned partition is read up to its high watermark (``--until-idle``)."""
        assignment = consumer.assignment()
        if not assignment:
            return False
        parts = sorted((tp.topic, tp.partition) for tp in assignment)
        try:
            done = kafkaio.at_high_watermark(
                consumer,
                self.settings.kafka_bootstrap,
                parts,
                started=self.start_offsets,
                admin=self.admin,
                deadline_s=LOG_BOUNDS_DEADLINE_S,
            )
        except kafkaio.KafkaIOError as exc:
            raise KafkaTransientError(f"where the raw logs end not known: {exc}") from None
        return len(done) == len(parts)
