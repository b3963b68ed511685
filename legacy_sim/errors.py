"""Errors of the legacy simulator.

SimError                        root: one clear line for the user, exit code 1, 2 or 3
├── SimConfigError              a setting or option makes no sense (exit 2)
├── NotInitialised              `scv sim run` before `scv sim init` (exit 2)
├── StaleState                  the saved process state no longer matches the databases (exit 2)
├── SimDatabaseError            a database refused a statement the simulator relies on (exit 3)
└── NoLedger                    `scv sim verify` finds no ledger, or not the runs asked for:
                                the check fails (exit 1)
"""

from __future__ import annotations


class SimError(Exception):
    """Root of the simulator's errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class SimConfigError(SimError):
    exit_code = 2


class NotInitialised(SimError):
    exit_code = 2

    def __init__(self) -> None:
        super().__init__("the simulated databases are not initialised: run `scv sim init` first")


class StaleState(SimError):
    exit_code = 2


class SimDatabaseError(SimError):
    exit_code = 3


class NoLedger(SimError):
    exit_code = 1
