"""The WMS database: MariaDB from Debian's package, own data directory, own port, ROW binlog."""

from __future__ import annotations

import getpass
import re
import shutil
import subprocess
from pathlib import Path

import pymysql

from stack.components.base import Component, running_as_root
from stack.credentials import WMS_CDC_USER, WMS_CONTROL_DATABASE, WMS_DATABASE, WMS_OWNER
from stack.db_settings import MARIADB_SETTINGS
from stack.errors import ComponentFailed, CorruptState, PrerequisiteMissing

#: The CDC user's server-wide privileges, what Debezium's binlog connector needs and nothing more
#: (MariaDB >= 10.5 names): binlog access, listing databases, flushing. SELECT is granted on the
#: captured database only: on ``*.*`` it would read ``mysql.global_priv``, the password hashes.
CDC_GRANTS = "RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR"


def _quote(value: str) -> str:
    """A MariaDB string literal; our generated secrets are URL-safe, this is belt and braces."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class MariaDB(Component):
    name = "mariadb"
    port_env_var = "SCV_MARIADB_PORT"

    @property
    def port(self) -> int:
        return self.settings.mariadb_port

    @property
    def user(self) -> str | None:
        return "mysql" if running_as_root() else None

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket(self) -> Path:
        return self.home / "mariadb.sock"

    def _program(self, name: str) -> str:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
        if found is None:
            raise PrerequisiteMissing(
                f"mariadb: `{name}` not found; install MariaDB (apt-get install mariadb-server)"
            )
        return found

    def check_prerequisites(self) -> None:
        for program in ("mariadbd", "mariadb-install-db", "mariadb"):
            self._program(program)

    def prepare(self) -> None:
        datadir = self.datadir
        if (datadir / "mysql").is_dir():
            return
        if datadir.exists() and any(datadir.iterdir()):
            raise CorruptState(
                f"mariadb: {datadir} is not empty but holds no MariaDB system tables; "
                "run `scv stack down --purge` or remove it"
            )
        datadir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.user:
            shutil.chown(datadir, self.user, self.user)
        argv = [
            self._program("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={datadir}",
            f"--user={self.user or getpass.getuser()}",
            "--auth-root-authentication-method=socket",
            f"--auth-root-socket-user={getpass.getuser()}",
            "--skip-test-db",
        ]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        if rc != 0:
            raise CorruptState(
                f"mariadb: mariadb-install-db failed with exit code {rc} (log: {self.log})"
            )

    def argv(self) -> list[str]:
        argv = [
            self._program("mariadbd"),
            "--no-defaults",  # never pick up /etc/mysql: this server is ours alone
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--bind-address={self.settings.host}",
            f"--pid-file={self.home / 'mariadbd.pid'}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=256M",
            "--character-set-server=utf8mb4",
        ]
        return argv + [f"--{key}={value}" for key, value in MARIADB_SETTINGS.items()]

    def probe(self) -> str | None:
        try:
            conn = pymysql.connect(unix_socket=str(self.socket), user="nobody", connect_timeout=3)
            conn.close()
        except pymysql.err.OperationalError as exc:
            # Access denied (1045/1698) means the server is up and answering; that is enough.
            if exc.args and exc.args[0] in (1045, 1698):
                return None
            return f"does not accept connections ({exc.args[-1]})"
        return None

    def _root_sql(self, statements: str) -> None:
        """Run SQL as root over the socket; statements go through stdin, never argv."""
        proc = subprocess.run(
            [self._program("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot"],
            input=statements,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no output"])[0]
            raise ComponentFailed(self.name, f"bootstrap SQL failed: {first}", self.log)

    def bootstrap(self) -> None:
        """The WMS database, its owner, and a CDC user with only the grants Debezium needs.

        ``scv_control`` holds scv's Debezium signal table (created by the owner); the CDC user
        may read it and INSERT there, because incremental snapshots write their watermarks into
        it. None of this is written to the binlog (``sql_log_bin=0``): the CDC user reads the
        binlog, and ``IDENTIFIED BY`` would put the passwords in it. ``REVOKE SELECT ON *.*``
        narrows a CDC user an older scv created.
        """
        host = self.settings.host
        owner_pw = _quote(self.credentials["SCV_WMS_OWNER_PASSWORD"])
        cdc_pw = _quote(self.credentials["SCV_WMS_CDC_PASSWORD"])
        self._root_sql(
            f"""
            SET SESSION sql_log_bin = 0;
            CREATE DATABASE IF NOT EXISTS `{WMS_DATABASE}` CHARACTER SET utf8mb4;
            CREATE USER IF NOT EXISTS '{WMS_OWNER}'@'{host}' IDENTIFIED BY {owner_pw};
            ALTER USER '{WMS_OWNER}'@'{host}' IDENTIFIED BY {owner_pw};
            GRANT ALL PRIVILEGES ON `{WMS_DATABASE}`.* TO '{WMS_OWNER}'@'{host}';
            CREATE USER IF NOT EXISTS '{WMS_CDC_USER}'@'{host}' IDENTIFIED BY {cdc_pw};
            ALTER USER '{WMS_CDC_USER}'@'{host}' IDENTIFIED BY {cdc_pw};
            REVOKE SELECT ON *.* FROM '{WMS_CDC_USER}'@'{host}';
            GRANT {CDC_GRANTS} ON *.* TO '{WMS_CDC_USER}'@'{host}';
            GRANT SELECT ON `{WMS_DATABASE}`.* TO '{WMS_CDC_USER}'@'{host}';
            CREATE DATABASE IF NOT EXISTS `{WMS_CONTROL_DATABASE}` CHARACTER SET utf8mb4;
            GRANT ALL PRIVILEGES ON `{WMS_CONTROL_DATABASE}`.* TO '{WMS_OWNER}'@'{host}';
            GRANT SELECT, INSERT ON `{WMS_CONTROL_DATABASE}`.* TO '{WMS_CDC_USER}'@'{host}';
            """
        )

    def version(self) -> str:
        out = subprocess.run(
            [self._program("mariadbd"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"Ver (\d+\.\d+\.\d+)", out)
        return match.group(1) if match else out.strip()
