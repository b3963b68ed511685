"""What one audit row says: the action, who asked for it, and the config hashes.

Pure: no I/O beyond asking the operating system who runs the process.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

Phase = Literal["requested", "succeeded", "failed"]
PHASES: tuple[Phase, ...] = ("requested", "succeeded", "failed")
#: Longest failure detail kept (one line of the error the command printed).
DETAIL_MAX = 500


def config_hash(config: object) -> str | None:
    """``sha256:<hex>`` of ``config`` as canonical JSON (sorted keys), or None for None.

    Connector configs hold ``${env:NAME}`` references, never the secrets themselves, so the
    hash of a config says whether it changed and gives away nothing."""
    if config is None:
        return None
    data = orjson.dumps(config, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Operator:
    """Who: the effective OS user (not ``$USER``, which any process may set), and the user
    ``sudo`` says ran it, if any."""

    os_user: str
    sudo_user: str | None
    host: str
    pid: int


def operator() -> Operator:
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        name = f"uid:{os.geteuid()}"
    return Operator(
        os_user=name,
        sudo_user=os.environ.get("SUDO_USER") or None,
        host=socket.gethostname(),
        pid=os.getpid(),
    )


@dataclass(frozen=True, slots=True)
class Action:
    """One operator action: the command (``connectors pause``), what it acts on (``erp``),
    and its arguments (never a secret: options only)."""

    command: str
    target: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    action_id: uuid.UUID = field(default_factory=uuid.uuid4)


def one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= DETAIL_MAX else line[: DETAIL_MAX - 1] + "…"


@dataclass(frozen=True, slots=True)
class Row:
    """One row of ``audit.operator_actions`` as read back (and as published)."""

    id: int
    action_id: uuid.UUID
    phase: Phase
    at: datetime
    os_user: str
    sudo_user: str | None
    host: str
    pid: int
    command: str
    target: str | None
    arguments: dict[str, Any]
    config_before: str | None
    config_after: str | None
    detail: str | None
    published_at: datetime | None

    def record(self) -> dict[str, Any]:
        """The Kafka record's value (and ``scv audit list --json``): every column but the
        outbox mark."""
        return {
            "id": self.id,
            "action_id": str(self.action_id),
            "phase": self.phase,
            "at": self.at.isoformat(),
            "os_user": self.os_user,
            "sudo_user": self.sudo_user,
            "host": self.host,
            "pid": self.pid,
            "command": self.command,
            "target": self.target,
            "arguments": self.arguments,
            "config_before": self.config_before,
            "config_after": self.config_after,
            "detail": self.detail,
        }
