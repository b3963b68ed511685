"""The carrier stage's exceptions: one root, each with the exit code ``scv`` ends with.

CarrierError          root: one clear line for the user; ``exit_code`` 3 (run time)
├── CarrierStoreError the ``scv`` database cannot be reached or refused a statement
├── RelayError        the relay cannot produce the outbox to Kafka
└── Refused           a webhook body is not a tracking update (answered 4xx, never raised
                      out of the receiver)
"""

from __future__ import annotations


class CarrierError(Exception):
    """Root of every error the carrier stage raises on purpose."""

    exit_code = 3


class CarrierStoreError(CarrierError):
    """The ``scv`` database cannot be reached or refused a statement."""


class RelayError(CarrierError):
    """The relay cannot produce the outbox to Kafka (fenced, or the broker gone too long)."""
