"""Errors of the views stage.

    ViewsError                  root: one clear line for the user; ``exit_code``
    ├── StoreError              the serving database refused or failed an operation
    │   ├── ViewLocked          another view process already serves this schema
    │   └── StoreUnavailable    the serving database went away mid-run (retryable, exit 75):
    │                           the open batch was not committed, a restart reads it again
    ├── UnknownOrder            ``scv order track`` of an order the views never read
    ├── KafkaError              the broker refused or failed an operation
    ├── OffsetGap               a canonical partition's stored offset fell off its log
    │                           (retention, delete_records): events were never applied; the
    │                           process stops naming them unless ``allow_gap``
    └── SourceError             the legacy source could not be read for a reconciliation

A canonical record that cannot be applied (not JSON, an unknown type, an impossible value, or
the arithmetic raising on it) is not an error here: stopping on it would stop every start on
the same record. The view process rejects it with a reason, kept in the ``rejected_records``
table in the batch's transaction (``views.process``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafkaio import Gap


class ViewsError(Exception):
    """Root of the views errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class StoreError(ViewsError):
    pass


class ViewLocked(StoreError):
    exit_code = 2


class StoreUnavailable(StoreError):
    """The connection to the serving database was lost (a restart, a network cut): nothing of
    the open batch was committed, so starting again reads it again; ``EX_TEMPFAIL``, which a
    supervisor (``scv run``) answers with a restart."""

    exit_code = 75
    retryable = True


class UnknownOrder(ViewsError):
    exit_code = 2


class KafkaError(ViewsError):
    pass


class OffsetGap(ViewsError):
    """Canonical events were deleted before the views applied them (``kafkaio.gaps``); not
    retryable: starting again finds the same gap. ``gaps`` are the ``kafkaio.Gap`` of each
    partition."""

    def __init__(self, message: str, gaps: Sequence[Gap]) -> None:
        super().__init__(message)
        self.gaps = tuple(gaps)


class SourceError(ViewsError):
    pass
