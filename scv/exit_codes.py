"""The exit codes of ``scv``: one enum for every verb (as soda-core has its ``ExitCode``).

A verb chooses its code in one of two ways, never by ``sys.exit`` of its own:

- it *returns* one: a check that ran says ``OK`` or ``FAILED`` (``scv sim verify``,
  ``scv reconcile``, ``scv connectors plan``, ``scv stack status``, ...);
- it *raises* an error: a stage's error carries its ``exit_code`` and click's usage errors
  are ``USAGE``; the boundary (``scv.errors``) prints the one line and exits with the code.

The stages import nothing of ``scv``, so their errors hold the plain number; a unit test keeps
every one of them a member of this enum.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    #: Done, or a check that found nothing wrong.
    OK = 0
    #: A check ran and failed: the ledger or a reconciliation does not match, changes are
    #: pending, a connector or component is not running, a benchmark section failed.
    FAILED = 1
    #: The command line, a setting or the state does not allow the verb (a bad option, a
    #: missing prerequisite, not initialised, another process serves that schema).
    USAGE = 2
    #: A component failed at run time (a database, Kafka or Connect refused or failed).
    ERROR = 3
    #: ``scv pipeline run`` stopped without committing its last batch (``EX_TEMPFAIL``): the
    #: broker was away past its deadline, or a stop came while a commit was stuck.
    TEMPFAIL = 75
    #: Ctrl-C, or an aborted prompt (128 + SIGINT).
    INTERRUPTED = 130
