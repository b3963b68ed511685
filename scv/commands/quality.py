"""``scv quality``: the data-quality gate's suites, its benchmark (and the quality report)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from expectations.settings import QualitySettings


def _settings() -> QualitySettings:
    from expectations.settings import QualitySettings

    return QualitySettings()


@click.group()
def quality() -> None:
    """Quality gate: suites, benchmark, report."""


@quality.command()
def suites() -> None:
    """List the gating suites (event type, rules, digest) and check that each compiles."""
    from expectations.gate import Gate

    settings = _settings()
    gate = Gate.load(settings.suites_dir)
    for event_type, compiled in sorted(gate.suites.items()):
        suite = compiled.suite
        click.echo(f"{event_type:<26} {len(suite.expectations):>3} rules  {suite.label}")


@quality.command()
@click.option("--events", default=1000, show_default=True, help="Events per batch.")
@click.option("--repeats", default=7, show_default=True, help="Timed runs (median).")
@click.option("--no-gx", is_flag=True, help="Time only the compiled evaluator.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench(events: int, repeats: int, no_gx: bool, as_json: bool) -> None:
    """Gate cost per 1,000 events: compiled evaluator vs GX, in one run."""
    import random

    from expectations.bench import GOAL_MS_PER_1000, bench_gate
    from expectations.gate import Gate
    from transforms.samples import clean_event, sample_batch

    if events < 1:
        raise click.BadParameter("must be at least 1", param_hint="--events")
    gate = Gate.load(_settings().suites_dir)
    types = sorted(gate.suites)
    rng = random.Random(1)
    mixed = [clean_event(types[i % len(types)], i, rng) for i in range(events)]
    biggest = max(types, key=lambda t: len(gate.suites[t].checks))
    single = sample_batch(biggest, gate.suites[biggest].suite, size=events).events
    results = bench_gate(
        {"mixed (every event type)": mixed, f"{biggest} only (largest suite)": single},
        gate=gate,
        repeats=repeats,
        with_gx=not no_gx,
    )
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
        return
    click.echo(f"gate cost per 1,000 events (goal < {GOAL_MS_PER_1000:g} ms compiled)")
    for r in results:
        gx = "" if r.gx_per_1000 is None else f"   GX {r.gx_per_1000:9.1f} ms   x{r.ratio:.0f}"
        click.echo(f"  {r.name:<36} compiled {r.compiled_per_1000:6.2f} ms{gx}")
