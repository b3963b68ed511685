"""Errors of the audit trail.

    AuditError              root: one clear line for the user; ``exit_code``
    ├── AuditUnavailable    the ``requested`` row could not be written: the action was NOT run
    ├── AuditIncomplete     the action ran, but its outcome row could not be written: the
    │                       command fails (exit 3) so that no one takes it for a clean run;
    │                       the trail shows the action requested, without an outcome
    └── AuditPublishError   rows are in the table but not yet on the topic (they stay in the
                            outbox and go with the next audited command or ``scv audit publish``)

Messages never quote a DSN or a password (``dsn.redact``).
"""

from __future__ import annotations


class AuditError(Exception):
    """Root of the audit errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class AuditUnavailable(AuditError):
    pass


class AuditIncomplete(AuditError):
    pass


class AuditPublishError(AuditError):
    pass
