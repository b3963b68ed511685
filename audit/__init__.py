"""The audit trail of operator actions: who did what to the running system, when, and what it
changed (the hash of the config before and after).

An action (``scv connectors apply``, ``scv quarantine replay``, ``scv sim init``, ...) runs
inside :func:`audit.trail.recorded`: a ``requested`` row is appended to
``audit.operator_actions`` in the ``scv`` database before it starts, and a ``succeeded`` or
``failed`` row after it. The table is also the outbox of the Kafka topic ``scv.audit.v1``:
rows are published from it, in order, and marked published in the same database transaction
that held them, so the topic carries the rows the table has and no other.

Infrastructure: it imports no stage (``kafkaio`` and ``dsn`` only); the console wraps the verbs.
"""

from audit.entry import Action, Row, config_hash, operator
from audit.errors import AuditError, AuditIncomplete, AuditUnavailable
from audit.settings import AuditSettings
from audit.trail import history, publish_pending, recorded

__all__ = [
    "Action",
    "AuditError",
    "AuditIncomplete",
    "AuditSettings",
    "AuditUnavailable",
    "Row",
    "config_hash",
    "history",
    "operator",
    "publish_pending",
    "recorded",
]
