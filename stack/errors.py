"""Errors of the local stack launcher.

StackError                      root: one clear line for the user, exit code 2 or 3
├── PrerequisiteMissing         a program the stack needs is not installed
├── CorruptState                the state directory is not what the launcher left there
├── PortInUse                   another process holds a port a component needs
├── ComponentFailed             a component did not start or is not healthy (names its log)
└── JarResolutionFailed         Maven could not lay out the jars (names its log)
"""

from __future__ import annotations

from pathlib import Path


class StackError(Exception):
    """Root of the launcher's errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class PrerequisiteMissing(StackError):
    exit_code = 2


class CorruptState(StackError):
    exit_code = 2


class PortInUse(StackError):
    exit_code = 2

    def __init__(self, component: str, port: int, env_var: str) -> None:
        super().__init__(
            f"{component}: port {port} on 127.0.0.1 is in use by another process; "
            f"stop it or choose another port with {env_var}"
        )


class ComponentFailed(StackError):
    def __init__(self, component: str, reason: str, log: Path) -> None:
        super().__init__(f"{component}: {reason} (log: {log})")
        self.component = component
        self.log = log


class JarResolutionFailed(StackError):
    def __init__(self, reason: str, log: Path) -> None:
        super().__init__(f"jars: {reason} (log: {log})")
