"""Credentials of the local stack's database users, generated once per state directory.

The local stack is a developer's and CI's sandbox, so its passwords are random, generated on
the first ``scv stack up`` and kept in ``<state>/secrets.env`` (mode 0600, git-ignored). A value
set in the environment wins, so a user can bring their own. The Kafka Connect worker receives
them as environment variables and connector configs refer to them as ``${env:NAME}``: no
password is ever rendered into a config, a command line or a log.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stack.errors import CorruptState
from stack.state import private_dir

#: Every secret the stack hands out, by environment variable name.
SECRET_NAMES = (
    "SCV_ERP_OWNER_PASSWORD",
    "SCV_ERP_CDC_PASSWORD",
    "SCV_ERP_READER_PASSWORD",
    "SCV_STORE_PASSWORD",
    "SCV_WMS_OWNER_PASSWORD",
    "SCV_WMS_CDC_PASSWORD",
    "SCV_PII_HASH_SALT",
)

#: The secure stack's secrets (``scv stack up --secure``), generated only for it: the broker's
#: own SCRAM user (inter-broker), the clients' SCRAM user (scv's clients and Connect's) and the
#: Connect REST API's basic-auth password.
SECURE_SECRET_NAMES = (
    "SCV_KAFKA_BROKER_PASSWORD",
    "SCV_KAFKA_CLIENT_PASSWORD",
    "SCV_CONNECT_REST_PASSWORD",
)
#: SCRAM users of the secure broker, and the REST API's user.
KAFKA_BROKER_USER = "scv-broker"
KAFKA_CLIENT_USER = "scv"
CONNECT_REST_USER = "scv"

#: The secrets the Kafka Connect worker may resolve (``${env:NAME}`` in connector configs): the
#: CDC users' passwords and the PII salt, never an owner's password. The worker's environment
#: holds only these, and its EnvVarConfigProvider allows only these names.
CONNECT_SECRETS = ("SCV_ERP_CDC_PASSWORD", "SCV_WMS_CDC_PASSWORD", "SCV_PII_HASH_SALT")

ERP_DATABASE = "erp"
ERP_OWNER = "scv_owner"
ERP_CDC_USER = "scv_cdc"
#: Reads the ERP and writes nothing: the pipeline's F0006 lookup, the views' reconciliation.
ERP_READER = "scv_reader"
#: scv's own PostgreSQL database (ledger, serving tables); never captured.
SCV_DATABASE = "scv"
#: Owns ``scv`` and may connect nowhere else: the views store, the simulator's ledger.
STORE_USER = "scv_store"
WMS_DATABASE = "wmwhse1"
WMS_OWNER = "scv_owner"
WMS_CDC_USER = "scv_cdc"
#: scv's control tables on MariaDB (the Debezium signal table); never business data.
WMS_CONTROL_DATABASE = "scv_control"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The stack's secrets; ``repr`` masks them so they cannot leak into a log by accident."""

    values: Mapping[str, str]

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def __repr__(self) -> str:
        return f"Credentials({', '.join(f'{k}=***' for k in self.values)})"

    def as_env(self) -> dict[str, str]:
        return dict(self.values)


def _parse(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or name not in (*SECRET_NAMES, *SECURE_SECRET_NAMES):
            raise CorruptState(f"{path}:{lineno}: unexpected line; delete the file to regenerate")
        values[name] = value
    return values


def load_existing(state_dir: Path, environ: Mapping[str, str] = os.environ) -> Credentials:
    """The secrets as stored (missing ones empty), writing nothing: for ``down`` and ``status``.

    A stack that is not set up has no secrets yet, and stopping or inspecting it must not create
    them (a purged state directory would otherwise be refilled by the next ``down``).
    """
    path = state_dir / "secrets.env"
    stored = _parse(path) if path.exists() else {}
    names = (*SECRET_NAMES, *(n for n in SECURE_SECRET_NAMES if n in stored))
    return Credentials({name: environ.get(name) or stored.get(name, "") for name in names})


def load_or_create(
    state_dir: Path, environ: Mapping[str, str] = os.environ, *, secure: bool = False
) -> Credentials:
    """Read ``secrets.env``, add any missing secret, and let the environment override.

    The secure stack's secrets are added for a ``secure`` stack (or one whose state says so)."""
    path = state_dir / "secrets.env"
    stored = _parse(path) if path.exists() else {}
    secure = secure or (state_dir / "conf" / "secure").exists()
    names = (*SECRET_NAMES, *(SECURE_SECRET_NAMES if secure else ()))
    names = (*names, *(n for n in SECURE_SECRET_NAMES if n in stored and n not in names))
    missing = [name for name in names if name not in stored]
    if missing:
        for name in missing:
            stored[name] = secrets.token_urlsafe(24)
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# generated by `scv stack up`; local sandbox credentials, never commit\n")
            out.writelines(f"{name}={stored[name]}\n" for name in names)
    return Credentials({name: environ.get(name) or stored[name] for name in names})


#: The web console's sign-in token (``scv serve`` beyond loopback), kept apart from
#: ``secrets.env`` so that the database secrets file keeps its fixed set of names.
CONSOLE_TOKEN_FILE = "console.token"


def console_token(state_dir: Path, environ: Mapping[str, str] = os.environ) -> str:
    """``SCV_CONSOLE_TOKEN``, else ``<state>/console.token`` (created once, mode 0600)."""
    if environ.get("SCV_CONSOLE_TOKEN"):
        return environ["SCV_CONSOLE_TOKEN"]
    path = state_dir / CONSOLE_TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    private_dir(state_dir)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token
