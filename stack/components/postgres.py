"""The ERP database: PostgreSQL from Debian's package, own data directory, own port."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from stack.components.base import Component, running_as_root
from stack.credentials import ERP_CDC_USER, ERP_DATABASE, ERP_OWNER, SCV_DATABASE
from stack.db_settings import POSTGRES_SETTINGS
from stack.errors import CorruptState, PrerequisiteMissing

_MIN_MAJOR = 15


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` that has a server, if any."""
    candidates = []
    for server in Path("/usr/lib/postgresql").glob("*/bin/postgres"):
        major = server.parent.parent.name
        if major.isdigit() and int(major) >= _MIN_MAJOR:
            candidates.append((int(major), server.parent))
    return max(candidates)[1] if candidates else None


class PostgreSQL(Component):
    name = "postgres"
    port_env_var = "SCV_POSTGRES_PORT"
    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") waits for clients to leave.
    stop_signal = signal.SIGINT

    @property
    def port(self) -> int:
        return self.settings.postgres_port

    @property
    def user(self) -> str | None:
        return "postgres" if running_as_root() else None

    @property
    def bindir(self) -> Path:
        found = find_bindir()
        if found is None:
            raise PrerequisiteMissing(
                f"postgres: no PostgreSQL >= {_MIN_MAJOR} server in /usr/lib/postgresql; "
                "install it (apt-get install postgresql)"
            )
        return found

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.home / "socket"

    def check_prerequisites(self) -> None:
        _ = self.bindir

    def prepare(self) -> None:
        pgdata = self.pgdata
        if (pgdata / "PG_VERSION").exists():
            return
        if pgdata.exists() and any(pgdata.iterdir()):
            raise CorruptState(
                f"postgres: {pgdata} is not empty but holds no database cluster; "
                "run `scv stack down --purge` or remove it"
            )
        for d in (pgdata, self.socket_dir):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.user:
                shutil.chown(d, self.user, self.user)
        argv = [
            str(self.bindir / "initdb"),
            "-D", str(pgdata),
            "-U", "postgres",
            "-E", "UTF8",
            "--no-locale",
            "--auth-local=trust",  # the socket lives in a 0700 directory of ours
            "--auth-host=scram-sha-256",
        ]  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            rc = subprocess.run(
                argv, stdout=out, stderr=subprocess.STDOUT, user=self.user, check=False
            ).returncode
        if rc != 0:
            raise CorruptState(f"postgres: initdb failed with exit code {rc} (log: {self.log})")

    def argv(self) -> list[str]:
        settings = {
            "listen_addresses": self.settings.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "shared_buffers": "256MB",
            **POSTGRES_SETTINGS,
        }
        argv = [str(self.bindir / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )

    def probe(self) -> str | None:
        try:
            with self._admin() as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            return f"does not accept connections ({str(exc).strip().splitlines()[0]})"
        return None

    def bootstrap(self) -> None:
        """The ERP database, its owner, and a least-privilege Debezium user.

        A second database, ``scv``, is never captured: it holds scv's own tables (the
        simulator's ledger, serving tables), so they cannot leak into the change stream.

        ``scv_cdc`` may log in, replicate and read what ``scv_owner`` creates; nothing else. The
        publication is created by the owner (the connectors own that), so the CDC user needs no
        ownership or CREATE right.
        """
        owner_pw = self.credentials["SCV_ERP_OWNER_PASSWORD"]
        cdc_pw = self.credentials["SCV_ERP_CDC_PASSWORD"]
        with self._admin() as conn:
            for role, attrs, password in (
                (ERP_OWNER, sql.SQL("LOGIN"), owner_pw),
                (ERP_CDC_USER, sql.SQL("LOGIN REPLICATION"), cdc_pw),
            ):
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                ).fetchone()
                verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
                conn.execute(
                    sql.SQL("{} ROLE {} {} PASSWORD {}").format(
                        verb, sql.Identifier(role), attrs, sql.Literal(password)
                    )
                )
            for database in (ERP_DATABASE, SCV_DATABASE):
                if not conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                ).fetchone():
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(database), sql.Identifier(ERP_OWNER)
                        )
                    )
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(ERP_DATABASE), sql.Identifier(ERP_CDC_USER)
                )
            )
        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname=ERP_DATABASE,
            autocommit=True,
        ) as conn:  # fmt: skip
            for kind in ("SCHEMAS", "TABLES"):
                privilege = "USAGE" if kind == "SCHEMAS" else "SELECT"
                conn.execute(
                    sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT {} ON {} TO {}").format(
                        sql.Identifier(ERP_OWNER),
                        sql.SQL(privilege),
                        sql.SQL(kind),
                        sql.Identifier(ERP_CDC_USER),
                    )
                )

    def version(self) -> str:
        out = subprocess.run(
            [str(self.bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"(\d+\.\d+)", out)
        return match.group(1) if match else out.strip()
