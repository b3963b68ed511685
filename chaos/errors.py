"""Errors of the fault suite.

::

    ChaosError                  a scenario could not run (message says which; exit 1)
    ├── StackNotReady           a stack component or connector is not running
    ├── UnknownScenario         a name ``scv chaos list`` does not know (exit 2)
    └── ScenarioFailed          a step of a scenario failed (a child exited, a drain never ended)
"""

from __future__ import annotations


class ChaosError(Exception):
    """Root of every error raised by ``chaos``; ``str(err)`` is the one line shown."""

    exit_code = 1


class StackNotReady(ChaosError):
    """The stack or a connector is not in a state a scenario can start from."""


class UnknownScenario(ChaosError):
    """A scenario name that is not in the registry."""

    exit_code = 2


class ScenarioFailed(ChaosError):
    """A step of a scenario failed or never finished (not the verdict: that is a result)."""
