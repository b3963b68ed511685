"""How far a reader is behind: per partition, its committed offset against the high watermark,
and the time of the oldest record it has not committed yet.

A transactional topic has a control marker after each transaction, which takes an offset but
is never delivered: a reader that has applied everything stores the offset after its last
record, one short of the high watermark. So a partition only counts as behind when a committed
record follows the reader's offset (read to find the oldest one's time anyway); its lag is
then the high watermark minus that offset (markers included, which is close enough to say how
much is left).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from kafkaio.admin import (
    REQUEST_TIMEOUT_S,
    Offsets,
    Partition,
    TopicFilter,
    _result,
    admin_client,
    high_watermarks,
    low_watermarks,
    partitions,
)
from kafkaio.errors import ReadIncomplete
from kafkaio.read import read_range
from kafkaio.retry import retrying

#: How long finding the oldest pending record may wait behind an open transaction (a scrape
#: must answer quickly; the time is then left unknown).
PENDING_READ_S = 3.0
#: Seconds the lag lookups may retry a cluster that is not ready: short, it runs per scrape.
LAG_DEADLINE_S = 10.0


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    #: Where the reader goes on from (the log start when it has committed nothing).
    offset: int
    end: int
    lag: int
    #: Kafka timestamp of the first committed record at or after ``offset`` (None: caught up,
    #: or only an open transaction follows).
    oldest: datetime | None


def group_offsets(bootstrap: str, group: str, *, admin: AdminClient | None = None) -> Offsets:
    """Every offset ``group`` has committed (empty: none, or no such group)."""
    client = admin if admin is not None else admin_client(bootstrap)

    def ask() -> Offsets:
        futures = client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=REQUEST_TIMEOUT_S
        )
        found = _result(futures[group], REQUEST_TIMEOUT_S)
        return {
            (tp.topic, tp.partition): int(tp.offset)
            for tp in found.topic_partitions
            if tp.offset >= 0
        }

    return retrying(ask, what=f"offsets of group {group}", deadline_s=LAG_DEADLINE_S)


def group_members(bootstrap: str, group: str, *, admin: AdminClient | None = None) -> int:
    """How many consumers are in ``group`` now (0: none running)."""
    client = admin if admin is not None else admin_client(bootstrap)

    def ask() -> int:
        futures = client.describe_consumer_groups([group], request_timeout=REQUEST_TIMEOUT_S)
        return len(_result(futures[group], REQUEST_TIMEOUT_S).members)

    return retrying(ask, what=f"members of group {group}", deadline_s=LAG_DEADLINE_S)


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One consumer of a group, as the group coordinator describes it."""

    client_id: str
    #: Where it connects from, as the broker sees it (``/172.18.0.1``).
    host: str
    member_id: str
    #: The partitions assigned to it, sorted.
    partitions: tuple[Partition, ...]


@dataclass(frozen=True, slots=True)
class GroupDescription:
    group: str
    #: The coordinator's state of the group: ``STABLE``, ``EMPTY``, ``PREPARING_REBALANCING``...
    state: str
    members: tuple[GroupMember, ...]


def describe_group(
    bootstrap: str, group: str, *, admin: AdminClient | None = None
) -> GroupDescription:
    """``group``'s state and its members with their assigned partitions (no member: none
    runs)."""
    client = admin if admin is not None else admin_client(bootstrap)

    def ask() -> GroupDescription:
        futures = client.describe_consumer_groups([group], request_timeout=REQUEST_TIMEOUT_S)
        found = _result(futures[group], REQUEST_TIMEOUT_S)
        members = tuple(
            GroupMember(
                client_id=str(m.client_id),
                host=str(m.host),
                member_id=str(m.member_id),
                partitions=tuple(
                    sorted(
                        (tp.topic, tp.partition)
                        for tp in (m.assignment.topic_partitions if m.assignment else ())
                    )
                ),
            )
            for m in found.members
        )
        state = getattr(found.state, "name", str(found.state))
        return GroupDescription(group, state, tuple(sorted(members, key=lambda m: m.client_id)))

    return retrying(ask, what=f"description of group {group}", deadline_s=LAG_DEADLINE_S)


def lag(
    bootstrap: str,
    offsets: Mapping[Partition, int],
    topics: TopicFilter,
    *,
    admin: AdminClient | None = None,
) -> list[PartitionLag]:
    """Each partition of ``topics`` against ``offsets`` (a reader's committed offsets; a
    partition without one is read from its log start), sorted."""
    client = admin if admin is not None else admin_client(bootstrap)
    parts = partitions(bootstrap, topics, admin=client, deadline_s=LAG_DEADLINE_S)
    ends = high_watermarks(bootstrap, parts, admin=client, deadline_s=LAG_DEADLINE_S)
    lows = low_watermarks(bootstrap, parts, admin=client, deadline_s=LAG_DEADLINE_S)
    at = {part: max(offsets.get(part, -1), lows[part]) for part in parts}
    behind = {part: ends[part] for part in parts if ends[part] > at[part]}
    oldest = _first_times(bootstrap, at, behind, client)
    found = []
    for part in parts:
        first = oldest.get(part)
        pending = ends[part] - at[part] if first is not None else 0
        found.append(PartitionLag(part[0], part[1], at[part], ends[part], pending, first))
    return found


def _first_times(
    bootstrap: str, start: Offsets, end: Offsets, admin: AdminClient
) -> dict[Partition, datetime]:
    """The timestamp of the first committed record in ``[start, end)`` of each partition."""
    if not end:
        return {}
    found: dict[Partition, datetime] = {}
    try:
        for message in read_range(
            bootstrap, start, end, timeout_s=PENDING_READ_S, admin=admin,
            deadline_s=LAG_DEADLINE_S,
        ):  # fmt: skip
            where = (str(message.topic()), int(message.partition() or 0))
            if where not in found:
                _kind, ms = message.timestamp()
                found[where] = datetime.fromtimestamp(ms / 1000, UTC)
            if len(found) == len(end):
                break
    except ReadIncomplete:
        # Only an open transaction follows: nothing committed is waiting for the reader yet
        # (a read_committed reader could not see it either), so those partitions count as
        # caught up until it commits.
        return found
    return found
