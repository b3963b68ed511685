"""Errors of the expectations stage (suites, gate, quarantine workflow, quality report).

    ExpectationsError               root: one clear line for the user; ``exit_code``
    ├── SuiteError                  a suite file is unreadable or malformed (exit 2)
    │   ├── UnsupportedExpectation  the hot-path evaluator has no check for an expectation
    │   │                           type: refused when the suite is loaded, never skipped
    │   └── MissingSuite            an event type reached the gate without a gating suite
    ├── QuarantineNotFound          ``scv quarantine show ID``: no such record (exit 2)
    ├── InvalidSince                ``--since`` is neither a time nor a duration (exit 2)
    └── ReportError                 the quality report cannot be written

Reading the topics fails with ``kafkaio``'s errors (``KafkaIOError``).

Data that fails a suite is not an error: it is a verdict, and the gate returns it.
"""

from __future__ import annotations


class ExpectationsError(Exception):
    """Root of the expectations errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class SuiteError(ExpectationsError):
    exit_code = 2


class UnsupportedExpectation(SuiteError):
    def __init__(self, suite: str, expectation_type: str) -> None:
        super().__init__(
            f"suite {suite}: expectation type {expectation_type!r} is not supported by the "
            "hot-path evaluator (add a compiled check for it, or move it to a monitoring suite)"
        )
        self.suite = suite
        self.expectation_type = expectation_type


class MissingSuite(SuiteError):
    pass


class QuarantineNotFound(ExpectationsError):
    exit_code = 2


class InvalidSince(ExpectationsError):
    exit_code = 2


class ReportError(ExpectationsError):
    pass
