"""Errors of the benchmark.

::

    BenchError                  a benchmark could not run or measure (message says which; exit 1)
    ├── StackNotReady           a stack component or connector is not running
    └── ScenarioFailed          a stage under test failed (runner exited, drain never finished)
        └── SimulatorFailed     `scv sim run` failed (often: another user re-initialised)
"""

from __future__ import annotations


class BenchError(Exception):
    """Root of every error raised by ``bench``; ``str(err)`` is the one line shown."""

    exit_code = 1


class StackNotReady(BenchError):
    """The stack or a connector is not in a state the benchmark can use."""


class ScenarioFailed(BenchError):
    """A stage under test failed or never finished; the section records why."""


class SimulatorFailed(ScenarioFailed):
    """``scv sim run`` failed; on the shared databases, usually someone else's ``sim init``."""
