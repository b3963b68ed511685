"""``scv stack``: run the real local stack (Kafka, Connect + Debezium, PostgreSQL, MariaDB)."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scv.exit_codes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from stack.settings import StackSettings

COMPONENT_LOGS = (
    "postgres", "mariadb", "kafka", "kafka-2", "kafka-3", "connect", "maven", "supervisor",
)  # fmt: skip


def _settings(
    state_dir: Path | None, *, secure: bool | None = None, brokers: int | None = None
) -> StackSettings:
    from scv.settings import stack_settings

    return stack_settings(state_dir, secure=secure, brokers=brokers)


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="State directory (default .scv/ in the checkout, or $SCV_STATE_DIR).",
)


@click.group()
def stack() -> None:
    """Run the local stack: Kafka, Connect + Debezium, PostgreSQL, MariaDB."""


@stack.command()
@state_dir_option
@click.option(
    "--secure",
    is_flag=True,
    default=None,
    help="Kafka on SASL_SSL (SCRAM-SHA-512, a generated CA) and Connect's REST API behind "
    "basic auth; recorded in the state dir (default: $SCV_SECURE, or as recorded).",
)
@click.option(
    "--brokers",
    type=click.Choice(["1", "3"]),
    default=None,
    help="Kafka brokers: 3 is a KRaft cluster (a controller quorum of three), replication "
    "factor 3, min.insync.replicas=2; recorded in the state dir (default: $SCV_BROKERS, or as "
    "recorded, or 1).",
)
@click.option(
    "--supervise",
    is_flag=True,
    help="Also start the stack's supervisor (detached): it restarts a component that dies, "
    "with exponential back-off, until `scv stack down`.",
)
def up(state_dir: Path | None, secure: bool | None, brokers: str | None, supervise: bool) -> None:
    """Start every component that is not running; wait until all are healthy."""
    from stack import launcher

    t0 = time.monotonic()
    settings = _settings(state_dir, secure=secure, brokers=int(brokers) if brokers else None)
    console = _console()
    launcher.up(settings, console, supervise=supervise)
    mode = "secure: SASL_SSL, REST basic auth; " if settings.is_secure else ""
    if settings.cluster_size > 1:
        mode += f"{settings.cluster_size} brokers: {settings.kafka_bootstrap}; "
    console.print(f"stack: up in {time.monotonic() - t0:.1f}s ({mode}state: {settings.state_dir})")


@stack.command(hidden=True)
@click.option("--settings-json", required=True, help="The settings `scv stack up` used.")
def supervise(settings_json: str) -> None:
    """The supervisor's process (started by `scv stack up --supervise`)."""
    from stack import supervisor
    from stack.launcher import components
    from stack.settings import StackSettings

    settings = StackSettings.model_validate_json(settings_json)
    supervisor.serve(settings, components(settings))


@stack.command()
@state_dir_option
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete what `up` created: data, logs, secrets (keeps the jar cache; refuses a "
    "state dir `up` did not mark).",
)
def down(state_dir: Path | None, purge: bool) -> None:
    """Stop exactly the processes `up` started."""
    from stack import launcher

    launcher.down(_settings(state_dir), _console(), purge=purge)


@stack.command()
@state_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(state_dir: Path | None, as_json: bool) -> ExitCode:
    """Show each component's state, pid, port and version; exit 1 unless all run."""
    from stack import launcher

    settings = _settings(state_dir)
    rows = [*launcher.status(settings), launcher.supervisor_status(settings)]
    if as_json:
        import orjson

        click.echo(orjson.dumps(launcher.status_as_dicts(rows), option=orjson.OPT_INDENT_2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("component", "state", "pid", "port", "version", "detail")
        colour = {"running": "green", "unhealthy": "yellow", "down": "red", "off": "dim"}
        for r in rows:
            table.add_row(
                r.name,
                f"[{colour[r.state]}]{r.state}[/]",
                str(r.pid or "-"),
                str(r.port or "-"),
                r.version,
                r.detail or "",
            )
        Console().print(table)
    return ExitCode.OK if all(r.state in ("running", "off") for r in rows) else ExitCode.FAILED


@stack.command()
@click.argument("name", type=click.Choice(COMPONENT_LOGS))
@state_dir_option
@click.option("-n", "--lines", default=50, show_default=True, help="How many last lines.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing as the log grows.")
def logs(name: str, state_dir: Path | None, lines: int, follow: bool) -> None:
    """Print the end of a component's log."""
    log = _settings(state_dir).logs_dir / f"{name}.log"
    if not log.exists():
        raise click.UsageError(f"no log yet for {name} ({log}); run `scv stack up` first")
    with log.open(errors="replace") as handle:
        for line in handle.readlines()[-lines:]:
            click.echo(line, nl=False)
        while follow:
            line = handle.readline()
            if line:
                click.echo(line, nl=False)
            else:
                time.sleep(0.2)


@stack.command()
@state_dir_option
def env(state_dir: Path | None) -> None:
    """Print shell exports of the endpoints: eval "$(scv stack env)"."""
    from stack.credentials import load_or_create
    from stack.endpoints import exports

    settings = _settings(state_dir)
    for key, value in exports(settings, load_or_create(settings.state_dir)).items():
        click.echo(f"export {key}={shlex.quote(value)}")


@stack.command()
@state_dir_option
def check(state_dir: Path | None) -> None:
    """Prove the capture path: a committed row in each database arrives on Kafka."""
    from stack.check import check_mariadb_cdc, check_postgres_cdc, check_transactions
    from stack.credentials import load_or_create

    settings = _settings(state_dir)
    console = _console()
    credentials = load_or_create(settings.state_dir)
    for label, run in (
        ("PostgreSQL (ERP) insert → Debezium change event", check_postgres_cdc),
        ("MariaDB (WMS) insert → Debezium change event", check_mariadb_cdc),
    ):
        with console.status(f"check: {label}"):
            result = run(settings, credentials)
        console.print(
            f"[green]ok[/] {result.name}: {result.latency_s * 1000:.0f} ms ({result.detail})"
        )
    with console.status("check: Kafka transaction, read_committed"):
        result = check_transactions(settings)
    console.print(f"[green]ok[/] {result.name}: {result.detail}")
