"""Errors of the transforms stage.

    TransformsError                 root: one clear line for the user; ``exit_code``
    ├── DataError                   bad input: the message goes to quarantine, the stream goes on
    │   ├── InvalidChangeEvent      stage "decode": malformed JSON / envelope, missing or
    │   │                           mistyped field, unexpected new non-null column
    │   ├── UnmappedTable           stage "map": no mapper registered for the source table
    │   ├── MappingError            stage "map": the row cannot become a canonical event
    │   │   └── MissingReference    reference data (item, UoM conversion, site zone, order
    │   │                           correlation) is not known (yet)
    │   └── InvalidStateRecord      stage "state": a record of the state topic that cannot be
    │                               loaded into the reference store (skipped, logged, counted)
    ├── DuplicateMapper             two mappers for one table: a programming error (exit 2)
    ├── SchemaIncompatible          a model breaks its released JSON Schema (exit 1)
    ├── SiteZonesUnavailable        the ERP's F0006 could not be read (a warning at start-up)
    ├── QuarantineLimitExceeded     too much bad input in a row or by ratio: the runner stops
    ├── OffsetGap                   a raw partition's committed offset fell off its log
    │                               (retention, delete_records): records were never read; the
    │                               runner stops naming them unless ``allow_gap``
    └── KafkaError                  the broker refused or failed an operation
        ├── KafkaTransientError     retryable: the open transaction is aborted, the batch re-read
        └── RunnerStalled           a commit outlived its deadline or the producer failed
                                    fatally: the runner starts over in a fresh process (exit 75)

A ``DataError`` of a consumed record is turned into a quarantine record with its reason. Any
other exception raised while decoding or mapping a record is quarantined too, as
``mapper_exception`` (``transforms.pipeline.process``): one record must not stop the runner at
every restart. Exceptions outside a record (the broker, the runner itself) still stop it before
it commits offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafkaio import Gap


class TransformsError(Exception):
    """Root of the transforms errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3
    retryable = False


class DataError(TransformsError):
    """Bad input data; quarantined with ``reason`` (a short stable code) and the message."""

    stage = "map"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidChangeEvent(DataError):
    stage = "decode"


class UnmappedTable(DataError):
    def __init__(self, table: str) -> None:
        super().__init__("unmapped_table", f"no mapper registered for {table}")


class MappingError(DataError):
    pass


class MissingReference(MappingError):
    pass


class InvalidStateRecord(DataError):
    stage = "state"


class DuplicateMapper(TransformsError):
    exit_code = 2


class SchemaIncompatible(TransformsError):
    exit_code = 1


class SiteZonesUnavailable(TransformsError):
    pass


class QuarantineLimitExceeded(TransformsError):
    pass


class OffsetGap(TransformsError):
    """Raw records were deleted before the runner read them (``kafkaio.gaps``); not retryable:
    starting again finds the same gap. ``gaps`` are the ``kafkaio.Gap`` of each partition."""

    def __init__(self, message: str, gaps: Sequence[Gap]) -> None:
        super().__init__(message)
        self.gaps = tuple(gaps)


class KafkaError(TransformsError):
    pass


class KafkaTransientError(KafkaError):
    retryable = True


class RunnerStalled(KafkaError):
    """The broker did not let a batch finish (outage, fenced or fatally failed producer).

    Nothing of the batch is visible. A librdkafka call stuck past its timeout cannot be
    interrupted, so the runner process is replaced (``scv pipeline run`` restarts itself in
    place) and reads on from the committed offsets; exit code 75 (EX_TEMPFAIL) otherwise.
    """

    exit_code = 75
    retryable = True
