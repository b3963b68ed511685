"""What every stack component has: a process, a port, a log, a health check, a version."""

from __future__ import annotations

import hashlib
import os
import pwd
import signal
import stat
from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path

from stack import state as stack_state
from stack.credentials import Credentials
from stack.processes import PidFile
from stack.settings import StackSettings


class Component(ABC):
    """A local process of the stack.

    Subclasses say how to prepare their state (once), which command runs them, when they are
    healthy, and what to set up inside them after the first healthy start (users, databases).
    """

    #: Short name used in pid files, logs and the CLI (``scv stack logs NAME``).
    name: str
    #: Environment variable that overrides the component's port.
    port_env_var: str
    #: Signal for a clean, fast shutdown.
    stop_signal: signal.Signals = signal.SIGTERM
    #: Seconds to wait after ``stop_signal`` before SIGKILL.
    stop_timeout: float = 60.0

    def __init__(self, settings: StackSettings, credentials: Credentials) -> None:
        self.settings = settings
        self.credentials = credentials
        self.pid_file = PidFile(settings.run_dir, self.name)

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    def log(self) -> Path:
        return self.settings.logs_dir / f"{self.name}.log"

    @property
    def user(self) -> str | None:
        """The OS user the process runs as; None means the current user."""
        return None

    @abstractmethod
    def check_prerequisites(self) -> None:
        """Raise PrerequisiteMissing when a program the component needs is not installed."""

    @abstractmethod
    def prepare(self) -> None:
        """Create or check the component's state directory (idempotent)."""

    @abstractmethod
    def argv(self) -> list[str]: ...

    def env(self) -> dict[str, str] | None:
        """Environment of the process; None inherits ours."""
        return None

    def inherited_fds(self) -> dict[int, bytes]:
        """Descriptors the process inherits, each the read end of a pipe holding these bytes
        (secrets that must be in no file and on no command line)."""
        return {}

    @abstractmethod
    def probe(self) -> str | None:
        """None when the component answers as it should, else why it does not (one line)."""

    def bootstrap(self) -> None:  # noqa: B027 - optional hook; most components need nothing
        """Set up what lives inside the running component (idempotent)."""

    @abstractmethod
    def version(self) -> str: ...

    @cached_property
    def home(self) -> Path:
        """The component's data directory, reachable by the user it runs as."""
        return service_home(self.settings, self.name, self.user)


def running_as_root() -> bool:
    return os.geteuid() == 0


def _traversable_by_others(path: Path) -> bool:
    for part in [path, *path.parents]:
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def service_home(settings: StackSettings, name: str, user: str | None) -> Path:
    """``<state>/data/<name>``, owned by ``user``.

    PostgreSQL and MariaDB refuse to run as root, so under root they run as their own system
    user, which must be able to reach the data directory. Where the state directory is inside a
    private home (``/root`` is 0700), the data lives under ``/var/lib/scv/<hash>`` instead and
    ``<state>/data/<name>`` is a symlink to it, so the state directory stays the one place to look.
    The directory is mode 0700 when created here: only ``user`` (and root) may read it.
    """
    link = settings.data_dir / name
    existing_dir = link.is_dir() and not link.is_symlink()
    if user is None or existing_dir or _traversable_by_others(settings.data_dir):
        home = link
    else:
        tag = hashlib.sha256(str(settings.state_dir.resolve()).encode()).hexdigest()[:12]
        home = stack_state.EXTERNAL_ROOT / tag / name
        # Recorded in up's marker: `down --purge` deletes it by this path, never via the link.
        stack_state.record_external(settings, home)
        if not link.is_symlink():
            stack_state.private_dir(link.parent)
            link.symlink_to(home)
    stack_state.private_dir(home)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    return home
