"""Errors of the views stage.

    ViewsError                  root: one clear line for the user; ``exit_code``
    ├── StoreError              the serving database refused or failed an operation
    │   └── ViewLocked          another view process already serves this schema
    ├── KafkaError              the broker refused or failed an operation
    └── SourceError             the legacy source could not be read for a reconciliation

A canonical record that cannot be applied (not JSON, an unknown type, an impossible value, or
the arithmetic raising on it) is not an error here: stopping on it would stop every start on
the same record. The view process rejects it with a reason, kept in the ``rejected_records``
table in the batch's transaction (``views.process``).
"""

from __future__ import annotations


class ViewsError(Exception):
    """Root of the views errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class StoreError(ViewsError):
    pass


class ViewLocked(StoreError):
    exit_code = 2


class KafkaError(ViewsError):
    pass


class SourceError(ViewsError):
    pass
