"""Errors of the ``connectors`` package.

    ConnectorsError                 root: ``str(err)`` is the one line shown to the user
    ├── SpecError                   a spec file is missing, not YAML, or fails validation (exit 2)
    ├── RenderError                 a template failed to render or rendered a bad config (exit 2)
    ├── UnknownConnector            a name that no spec declares (exit 2)
    ├── SourceError                 the source database cannot be reached or prepared (exit 3)
    ├── ConnectError                Kafka Connect answered with an error (exit 3)
    │   ├── ConnectUnavailable      Connect cannot be reached (retryable)
    │   ├── ConnectRebalancing      409: a worker rebalance is in progress (retryable)
    │   ├── ConnectorNotFound       404: no such connector on the cluster
    │   └── ConnectServerError      500: the trace Connect returned is kept in ``trace``
    ├── ChecksFailed                validate found problems; each is one line with its fix (exit 1)
    ├── NotRunning                  apply/wait: a connector or task is not RUNNING (exit 1)
    └── RecordingIncomplete         the recorder timed out before every wanted envelope (exit 1)

Retryable errors have ``retryable = True``; the client retries exactly those.
"""

from __future__ import annotations


class ConnectorsError(Exception):
    """Root of the package's errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3
    retryable = False


class SpecError(ConnectorsError):
    exit_code = 2


class RenderError(ConnectorsError):
    exit_code = 2


class UnknownConnector(ConnectorsError):
    exit_code = 2


class SourceError(ConnectorsError):
    exit_code = 3


class ConnectError(ConnectorsError):
    """Kafka Connect answered with an error status (or did not answer)."""

    def __init__(self, message: str, status: int | None = None, trace: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.trace = trace


class ConnectUnavailable(ConnectError):
    retryable = True


class ConnectRebalancing(ConnectError):
    retryable = True


class ConnectorNotFound(ConnectError):
    exit_code = 2


class ConnectServerError(ConnectError):
    pass


class ChecksFailed(ConnectorsError):
    exit_code = 1


class NotRunning(ConnectorsError):
    exit_code = 1


class RecordingIncomplete(ConnectorsError):
    exit_code = 1
