"""Errors of the views stage.

    ViewsError                  root: one clear line for the user; ``exit_code``
    ├── StoreError              the serving database refused or failed an operation
    │   └── ViewLocked          another view process already serves this schema
    ├── KafkaError              the broker refused or failed an operation
    └── SourceError             the legacy source could not be read for a reconciliation

A canonical record that does not parse is not an error of ours: the gate let it through, so
it is a bug upstream; the view process stops before it commits anything of that batch.
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
