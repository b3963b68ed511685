"""``scv sim verify``: the ledger against the canonical and quarantine topics (read_committed).

Prints per event type expected / found / missing / duplicated / unexpected (``legacy_sim.verify``
explains the facts compared) and exits 0 only when nothing is missing, duplicated or
unexpected. Registered on the ``scv sim`` group by ``scv.cli``.
"""

from __future__ import annotations

import click

from scv.exit_codes import ExitCode


@click.command()
@click.option(
    "--topic-prefix",
    default=None,
    help="Prefix of the pipeline's output topics (default: SCV_TRANSFORMS_TOPIC_PREFIX).",
)
@click.option(
    "--run",
    "runs",
    type=int,
    multiple=True,
    help="Check only these runs of the ledger (repeatable; default: every run since init).",
)
@click.option("--examples", default=5, show_default=True, help="Facts listed per event type.")
def verify(topic_prefix: str | None, runs: tuple[int, ...], examples: int) -> ExitCode:
    """Compare the ledger with the canonical and quarantine topics; exit 1 on any gap."""
    from legacy_sim.verify import check, read_ledger, render
    from scv.settings import sim_settings, transforms_settings
    from transforms.readback import canonical_payloads, quarantined_rows

    settings = transforms_settings(topic_prefix=topic_prefix)
    ledger = read_ledger(sim_settings().store_dsn.get_secret_value(), runs)
    report = check(
        ledger,
        canonical_payloads(settings),
        quarantined_rows(settings, ledger.since, ledger.until),
        examples=examples,
    )
    for line in render(report):
        click.echo(line)
    verdict = "PASS" if report.ok else "FAIL"
    click.echo(f"sim verify: {verdict} (topics {settings.topic('scv.*.v1')})")
    return ExitCode.OK if report.ok else ExitCode.FAILED
