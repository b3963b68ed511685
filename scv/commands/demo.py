"""``scv demo``: the whole pipeline end to end on this machine, with a live view."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--duration", type=float, default=120.0, show_default=True, help="Seconds of traffic."
)
@click.option("--rate", type=float, default=15.0, show_default=True, help="Business tx/s.")
@click.option("--anomalies", type=float, default=0.01, show_default=True, help="Defect share.")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("artifacts/demo"),
    show_default=True,
    help="Logs, verify output and the quality report.",
)
@click.option(
    "--console-port",
    type=int,
    default=18080,
    show_default=True,
    help="Port of the web console (scv serve) the demo starts; its URL is printed.",
)
@click.option("--down", is_flag=True, help="Stop the stack at the end.")
def demo(
    duration: float,
    rate: float,
    anomalies: float,
    seed: int,
    out_dir: Path,
    console_port: int,
    down: bool,
) -> int:
    """Legacy writes in, canonical events and quality verdicts out, watched live.

    Starts the stack (idempotent), seeds the legacy ERP and WMS, applies the connectors, runs
    the pipeline, the views and the web console (its URL is printed), drives simulator traffic
    for --duration seconds under a live view, then verifies the ledger against the stream and
    writes the quality report.
    Ctrl-C stops everything it started (the stack stays up unless --down).
    """
    from rich.console import Console

    from demo.run import run
    from demo.settings import DemoSettings

    settings = DemoSettings(
        duration_s=duration,
        rate=rate,
        anomalies=anomalies,
        seed=seed,
        out_dir=out_dir,
        console_port=console_port,
        down=down,
    )
    return run(settings, Console(highlight=False))
