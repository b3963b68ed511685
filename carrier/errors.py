"""The carrier stage's exception root."""

from __future__ import annotations


class CarrierError(Exception):
    """Root of every error the carrier stage raises on purpose."""


class CarrierStoreError(CarrierError):
    """The ``scv`` database cannot be reached or refused a statement."""


class RelayError(CarrierError):
    """The relay cannot produce the outbox to Kafka (the broker refused a transaction)."""
