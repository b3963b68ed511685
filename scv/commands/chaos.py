"""``scv chaos``: the fault suite. ``list`` names the scenarios; ``run`` injects them into the
running chain and judges each run by the ledger (``scv sim verify``) and ``scv reconcile``."""

from __future__ import annotations

from pathlib import Path

import click

from scv.exit_codes import ExitCode

#: The page ``--all`` rewrites the generated section of, in this checkout.
RELIABILITY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@click.group()
def chaos() -> None:
    """Fault scenarios against the running stack, judged by the ledger and reconcile."""


@chaos.command(name="list")
def list_scenarios() -> None:
    """Every scenario and the fault it injects."""
    from chaos.scenarios import SCENARIOS

    for scenario in SCENARIOS.values():
        click.echo(f"{scenario.name:<20} {scenario.fault.replace('`', '')}")


@chaos.command()
@click.argument("names", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every scenario; rewrites docs/reliability.md.")
@click.option("--runs", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Runs of each scenario, one after the other.")  # fmt: skip
@click.option("--rate", type=click.IntRange(1, 2000), default=None,
              help="Business transactions/s of the simulator (default 50).")  # fmt: skip
@click.option(
    "--report", "report_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="The page whose generated section --all rewrites (default: docs/reliability.md).",
)  # fmt: skip
def run(
    names: tuple[str, ...], every: bool, runs: int, rate: int | None, report_path: Path | None
) -> ExitCode:
    """Run scenarios NAMES (or --all) on the running stack; exit 1 if any run failed.

    Each run re-initialises the legacy databases (`scv sim init`) and kills or stops what its
    scenario names (Connect, a connector); it leaves the stack up.
    """
    from rich.console import Console

    from chaos.report import row
    from chaos.run import resolve, run_suite
    from chaos.scenarios import SCENARIOS
    from scv.settings import chaos_settings, stack_settings

    if every and names:
        raise click.UsageError("give scenario names or --all, not both")
    resolve(names, every)  # an unknown name fails here, before the stack is touched
    page = report_path or (RELIABILITY_PAGE if RELIABILITY_PAGE.exists() else None)
    settings = chaos_settings({"rate": rate, "report_path": page})
    console = Console(stderr=True, highlight=False)
    with console.status("chaos: starting") as live:
        outcomes = run_suite(
            settings,
            stack_settings(),
            names,
            every=every,
            runs=runs,
            say=lambda line: console.print(f"chaos: {line}"),
            status=lambda line: live.update(f"chaos: {line}"),
        )
    for name in dict.fromkeys(o.scenario for o in outcomes):
        mine = [o for o in outcomes if o.scenario == name]
        click.echo(row(name, SCENARIOS[name].fault, mine))
    failed = [o for o in outcomes if not o.passed]
    click.echo(f"chaos: {len(outcomes) - len(failed)} of {len(outcomes)} runs passed")
    return ExitCode.FAILED if failed else ExitCode.OK
