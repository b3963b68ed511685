"""Errors of the demo.

DemoError          root: one line naming the step that failed and where its log is
└── StepFailed     a step (a ``scv`` command) exited non-zero
"""

from __future__ import annotations

from pathlib import Path


class DemoError(Exception):
    exit_code = 3


class StepFailed(DemoError):
    def __init__(self, step: str, code: int, log: Path | None = None) -> None:
        where = f" (log: {log})" if log else ""
        super().__init__(f"demo: `{step}` exited with {code}{where}")
        self.step = step
