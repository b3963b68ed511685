"""Errors of the EDI stage.

    EdiError                    root: one clear line for the user; ``exit_code``
    ├── ProfileError            a partner profile file is missing, unreadable or invalid (one
    │                           line per bad file in ``lines``)
    ├── X12Error                the envelope cannot be written (control number out of range,
    │   │                       bad separators, ISA id of the wrong width): nothing is written
    │   ├── X12ValueError       a value cannot be written into an element (it holds a
    │   │                       separator, a control character or non-ASCII text); the
    │   │                       document builders turn it into a ``DocumentRejected``
    │   └── X12ReadError        a file is not a readable X12 interchange (no ISA, a count or
    │                           control number that does not match): the parity report lists
    │                           the file as a problem
    ├── ParityError             the parity report cannot start: a directory or the batch's
    │                           manifest is missing or unreadable, the cut-off disagrees (exit 2)
    ├── DocumentRejected        an event the partner's profile cannot express (unknown unit,
    │                           missing GTIN, item or site out of scope, value too long): the
    │                           document is not built; ``reason`` is a short stable code for
    │                           the rejected-documents list
    ├── EpcisError              an event cannot be exported to EPCIS 2.0 (no identifier for
    │   │                       its goods, a site without a GLN, a field outside the hashed
    │   │                       subset)
    │   └── EpcisRejected       a data problem of one event (``reason`` like
    │                           ``DocumentRejected``): it goes to the rejects list
    ├── StoreError              the EDI database refused or failed an operation
    │   └── StageLocked         another ``scv edi run`` already serves this schema
    ├── OutboxError             a document could not be written to the partner outbox
    ├── KafkaError              the broker refused or failed an operation
    └── UsageError              a user mistake the stage detects (unknown partner, a time in
                                the future, no outbox configured): exit code 2

A rejection is data, not a bug: the caller (``scv edi run``) records it with its reason and
goes on with the next event. Every other exception is a bug and stops the caller.
"""

from __future__ import annotations


class EdiError(Exception):
    """Root of the EDI errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class ProfileError(EdiError):
    """One or more partner profiles are invalid; ``lines`` holds one line per bad file."""

    exit_code = 2

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class X12Error(EdiError):
    pass


class X12ValueError(X12Error):
    pass


class X12ReadError(X12Error):
    pass


class ParityError(EdiError):
    exit_code = 2


class DocumentRejected(EdiError):
    """The profile cannot express this event: no document is built.

    ``reason`` is one of a closed set of short codes (``unknown_unit``, ``missing_gtin``,
    ``item_out_of_scope``, ``site_out_of_scope``, ``document_not_enabled``,
    ``value_too_long``, ``invalid_gtin``, ``pick_without_line``, ``nothing_shipped``,
    ``nothing_to_advise``, ``value_not_writable``) and ``detail`` says which value.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class EpcisError(EdiError):
    pass


class EpcisRejected(EpcisError):
    """One event cannot become an EPCIS event (``reason``: a short stable code)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StoreError(EdiError):
    pass


class StageLocked(StoreError):
    exit_code = 2


class OutboxError(EdiError):
    pass


class KafkaError(EdiError):
    pass


class UsageError(EdiError):
    exit_code = 2
