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
from stack.credentials import (
    ERP_CDC_USER,
    ERP_DATABASE,
    ERP_OWNER,
    ERP_READER,
    SCV_DATABASE,
    STORE_USER,
)
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

    def _admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
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
        """The ERP database and scv's own, each user with the least it needs.

        - ``scv_owner`` owns the ERP (the legacy application's user; the simulator writes as it).
        - ``scv_cdc`` may log in, replicate and read what the owner creates; the publication is
          created by the owner (the connectors own that), so it needs no ownership or CREATE.
        - ``scv_reader`` reads the ERP and writes nothing (the pipeline's F0006 lookup, the
          views' reconciliation).
        - ``scv_store`` owns ``scv``, the database that is never captured: the simulator's
          ledger and the views' serving tables, so they cannot leak into the change stream.

        Nobody else may connect to either database (``CONNECT`` is revoked from ``PUBLIC``). Runs
        at every start, so a stack an older scv created is brought to the same grants: ``scv``
        and what the owner created in it pass to ``scv_store``.
        """
        roles = (
            (ERP_OWNER, "LOGIN", "SCV_ERP_OWNER_PASSWORD"),
            (ERP_CDC_USER, "LOGIN REPLICATION", "SCV_ERP_CDC_PASSWORD"),
            (ERP_READER, "LOGIN", "SCV_ERP_READER_PASSWORD"),
            (STORE_USER, "LOGIN", "SCV_STORE_PASSWORD"),
        )
        with self._admin() as conn:
            for role, attrs, secret in roles:
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                ).fetchone()
                conn.execute(
                    sql.SQL("{} ROLE {} {} PASSWORD {}").format(
                        sql.SQL("ALTER") if exists else sql.SQL("CREATE"),
                        sql.Identifier(role),
                        sql.SQL(attrs),
                        sql.Literal(self.credentials[secret]),
                    )
                )
            for database, owner in ((ERP_DATABASE, ERP_OWNER), (SCV_DATABASE, STORE_USER)):
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                ).fetchone()
                conn.execute(
                    sql.SQL(
                        "ALTER DATABASE {} OWNER TO {}" if exists else "CREATE DATABASE {} OWNER {}"
                    ).format(sql.Identifier(database), sql.Identifier(owner))
                )
                conn.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                        sql.Identifier(database)
                    )
                )
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
                    sql.Identifier(ERP_DATABASE),
                    sql.Identifier(ERP_CDC_USER),
                    sql.Identifier(ERP_READER),
                )
            )
        with self._admin(ERP_DATABASE) as conn:
            self._grant_reads(conn, (ERP_CDC_USER, ERP_READER))
        with self._admin(SCV_DATABASE) as conn:
            _hand_over(conn, ERP_OWNER, STORE_USER)

    @staticmethod
    def _grant_reads(
        conn: psycopg.Connection[tuple[object, ...]], readers: tuple[str, ...]
    ) -> None:
        """``readers`` may read every table the owner creates, now and later."""
        owner = sql.Identifier(ERP_OWNER)
        for reader in map(sql.Identifier, readers):
            for kind, privilege in (("SCHEMAS", "USAGE"), ("TABLES", "SELECT")):
                conn.execute(
                    sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT {} ON {} TO {}").format(
                        owner, sql.SQL(privilege), sql.SQL(kind), reader
                    )
                )
            # Schemas the owner created before the default privileges were set (an older stack).
            for (schema,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspowner = %s::regrole", (ERP_OWNER,)
            ).fetchall():
                name = sql.Identifier(str(schema))
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, reader))
                conn.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(name, reader)
                )

    def version(self) -> str:
        out = subprocess.run(
            [str(self.bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"(\d+\.\d+)", out)
        return match.group(1) if match else out.strip()


def _hand_over(conn: psycopg.Connection[tuple[object, ...]], old: str, new: str) -> None:
    """Give ``new`` the schemas and relations ``old`` owns in this database (not its others).

    ``REASSIGN OWNED`` would do it in one statement, but it also hands over ``old``'s databases,
    the ERP among them.
    """
    target = sql.Identifier(new)
    for (schema,) in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspowner = %s::regrole", (old,)
    ).fetchall():
        conn.execute(
            sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(str(schema)), target)
        )
    # Tables, views, materialized views, partitioned tables and free sequences; indexes and the
    # sequences of identity/serial columns follow their table.
    for schema, name, kind in conn.execute(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relowner = %s::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.deptype IN ('a', 'i'))",
        (old,),
    ).fetchall():
        statement = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}.get(str(kind), "TABLE")
        conn.execute(
            sql.SQL("ALTER {} {}.{} OWNER TO {}").format(
                sql.SQL(statement), sql.Identifier(str(schema)), sql.Identifier(str(name)), target
            )
        )
