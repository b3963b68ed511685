"""``scv run``: the pipeline, the views and the later services under one supervisor."""

from __future__ import annotations

import time
from pathlib import Path

import click

from scv.exit_codes import ExitCode


@click.command()
@click.option("--pipeline/--no-pipeline", default=True, show_default=True, help="scv pipeline run")
@click.option("--views/--no-views", default=True, show_default=True, help="scv views run")
@click.option("--edi", is_flag=True, help="Also scv edi run.")
@click.option("--carrier", is_flag=True, help="Also scv carrier serve.")
@click.option("--console", is_flag=True, help="Also the web console (scv serve).")
@click.option(
    "--log-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("artifacts/run"),
    show_default=True,
    help="Each service's output, appended: <log-dir>/<service>.log.",
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds before the first restart of a dead service; doubled each time in a row.",
)
@click.option(
    "--backoff-max",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="The longest wait before a restart.",
)
def run(
    pipeline: bool,
    views: bool,
    edi: bool,
    carrier: bool,
    console: bool,
    log_dir: Path,
    backoff: float,
    backoff_max: float,
) -> ExitCode:
    """Run the services, restart any that dies (with back-off), stop all on SIGTERM/Ctrl-C.

    Each service is the scv command a user would type, in a child process; a restart loses and
    doubles nothing (the stages are exactly once). A service that exits with a usage error
    (code 2) stops everything.
    """
    from demo.services import run as run_services
    from demo.settings import ServicesSettings

    chosen = {"pipeline": pipeline, "views": views, "edi": edi, "carrier": carrier,
              "console": console}  # fmt: skip
    services = tuple(name for name, wanted in chosen.items() if wanted)
    if not services:
        raise click.UsageError("no service chosen (all were switched off)")
    if backoff_max < backoff:
        raise click.UsageError(f"--backoff-max ({backoff_max}) is below --backoff ({backoff})")
    settings = ServicesSettings(
        services=services,
        log_dir=log_dir,
        backoff_s=backoff,
        backoff_max_s=backoff_max,
    )

    def say(line: str) -> None:
        click.echo(f"[{time.strftime('%H:%M:%S')}] run: {line}", err=True)

    return ExitCode(run_services(settings, say))
