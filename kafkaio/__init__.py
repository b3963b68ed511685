"""Kafka I/O shared by every stage: every client's config (with the transport security the
environment sets), retries on a cluster that is not ready, ends and offsets, topic creation and
topic configs, where a reader starts (and the gaps it must not skip), bounded ``read_committed``
reads to the end, the triage of what ``consume`` returned, whether a reader stands at its
partitions' high watermarks, and SIGTERM/SIGINT as a request to stop.

The bottom layer: it imports no other package of the project, so every stage can import it.
"""

from kafkaio.admin import (
    ConfigChange,
    Offsets,
    Partition,
    TopicFilter,
    admin_client,
    commit_offsets,
    committed_offsets,
    ensure_topic_configs,
    ensure_topics,
    high_watermarks,
    low_watermarks,
    offsets_for_time,
    partitions,
    topic_configs,
)
from kafkaio.config import client_config, security_properties
from kafkaio.consume import Triaged, at_high_watermark, consume_batch, triage
from kafkaio.errors import KafkaIOError, KafkaIORetryableError, ReadIncomplete
from kafkaio.gaps import Gap, describe_gaps, resume_positions, start_positions
from kafkaio.lag import (
    GroupDescription,
    GroupMember,
    PartitionLag,
    describe_group,
    group_members,
    group_offsets,
    lag,
)
from kafkaio.read import READ_TIMEOUT_S, Record, read_committed, read_range, read_records
from kafkaio.retry import RETRIABLE_CODES, is_retriable, raise_for, retrying
from kafkaio.signals import stop_on_signals

__all__ = [
    "READ_TIMEOUT_S",
    "RETRIABLE_CODES",
    "ConfigChange",
    "Gap",
    "GroupDescription",
    "GroupMember",
    "KafkaIOError",
    "KafkaIORetryableError",
    "Offsets",
    "Partition",
    "PartitionLag",
    "ReadIncomplete",
    "Record",
    "TopicFilter",
    "Triaged",
    "admin_client",
    "at_high_watermark",
    "client_config",
    "commit_offsets",
    "committed_offsets",
    "consume_batch",
    "describe_gaps",
    "describe_group",
    "ensure_topic_configs",
    "ensure_topics",
    "group_members",
    "group_offsets",
    "high_watermarks",
    "is_retriable",
    "lag",
    "low_watermarks",
    "offsets_for_time",
    "partitions",
    "raise_for",
    "read_committed",
    "read_range",
    "read_records",
    "resume_positions",
    "retrying",
    "security_properties",
    "start_positions",
    "stop_on_signals",
    "topic_configs",
    "triage",
]
