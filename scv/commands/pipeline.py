"""``scv pipeline``: run the exactly-once transforms (raw change topics → canonical events)."""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from scv.exit_codes import ExitCode
from scv.options import dsn_option, metrics_port_option

if TYPE_CHECKING:
    from transforms.runner import RunStats


def _warn(line: str) -> None:
    click.echo(f"pipeline: {line}", err=True)


def _report(stats: RunStats) -> None:
    rate = stats.messages / stats.seconds if stats.seconds else 0.0
    click.echo(
        f"pipeline: {stats.messages} messages in {stats.batches} batches, "
        f"{stats.events_total} events, {sum(stats.quarantined.values())} quarantined, "
        f"{sum(stats.skipped.values())} skipped, {stats.aborted_batches} aborted batches, "
        f"{stats.seconds:.1f}s ({rate:.0f} messages/s)"
        + (f", {len(stats.gaps)} gaps skipped (--allow-gap)" if stats.gaps else "")
    )
    for name, counter in (("event", stats.events), ("quarantine", stats.quarantined),
                          ("skip", stats.skipped), ("held", stats.held),
                          ("bad state", stats.bad_state)):  # fmt: skip
        for key, count in sorted(counter.items()):
            click.echo(f"  {name:<10} {key:<28} {count}")
    for gap in stats.gaps:
        where = f"{gap.topic}[{gap.partition}]"
        click.echo(f"  {'gap':<10} {where:<28} {gap.skipped} skipped")


@click.group()
def pipeline() -> None:
    """Transform raw change topics into canonical events, exactly once."""


@pipeline.command()
@click.option("--until-idle", is_flag=True, help="Stop once no message arrived for a while.")
@click.option("--instance-id", default=None, help="Stable id of this instance (transactional.id).")
@dsn_option("--erp-dsn", "SCV_ERP_READ_DSN", "Where to read F0006 zones (read-only)")
@click.option(
    "--allow-gap",
    is_flag=True,
    help="Read on from the log start past raw records deleted before they were read "
    "(logged and counted); without it the pipeline stops naming them.",
)
@metrics_port_option
def run(
    until_idle: bool,
    instance_id: str | None,
    erp_dsn: str | None,
    allow_gap: bool,
    metrics_port: int | None,
) -> None:
    """Consume, map, gate and produce in one Kafka transaction per batch."""
    from connectors.specs import load_specs
    from scv.settings import transforms_settings
    from transforms.clients import COMMIT_SWITCH_INTERVAL_S
    from transforms.quality import QualityGate
    from transforms.registry import default_registry
    from transforms.runner import Runner

    settings = transforms_settings(
        instance_id=instance_id, allow_gap=allow_gap or None, erp_dsn=erp_dsn, warn=_warn
    )
    # The runner's garbage is acyclic (freed by reference counting) while its reference state
    # grows for hours, which the default thresholds re-scan (docs/benchmarks.md); a first
    # generation of 100,000 net allocations still collects real cycles when they pile up.
    gc.set_threshold(100_000, 50, 100)
    sys.setswitchinterval(COMMIT_SWITCH_INTERVAL_S)
    log = lambda line: click.echo(line, err=True)  # noqa: E731
    runner_metrics = None
    if metrics_port is not None:
        from scv.observe import runner_registry, serve
        from scv.settings import connectors_settings
        from transforms.observe import RunnerMetrics, slos

        specs = list(load_specs().values())
        registry = runner_registry(settings, (specs, connectors_settings()), log)
        runner_metrics = RunnerMetrics(registry, slos(settings))
        serve(registry, metrics_port, log)
    runner = Runner(
        settings, default_registry(), gate=QualityGate.load(), log=log, metrics=runner_metrics
    )
    click.echo(
        f"pipeline: instance {settings.transactional_id}, group {settings.group_id}, "
        f"{len(settings.site_zones)} site zones" + (", gaps allowed" if settings.allow_gap else ""),
        err=True,
    )
    from transforms.errors import RunnerStalled

    try:
        stats = runner.run(until_idle=until_idle)
    except RunnerStalled as exc:
        _start_over(str(exc), stopping=runner.stopping)
    _report(stats)


def _start_over(why: str, *, stopping: bool) -> NoReturn:
    """A stalled runner is replaced by a fresh process (same pid, same arguments).

    A librdkafka call stuck past its timeout cannot be interrupted and its client cannot be
    closed, so neither can the process exit normally (closing would block): the new process
    image reads on from the committed offsets, and a stop (SIGTERM) exits with 75 instead.
    """
    sys.stderr.write(f"scv: pipeline stalled: {why}\n")
    if stopping:
        sys.stderr.write("scv: pipeline stopped without committing its last batch (exit 75)\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(ExitCode.TEMPFAIL)
    sys.stderr.write("scv: pipeline starting over from the committed offsets\n")
    sys.stderr.flush()
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "scv", *sys.argv[1:]])


@pipeline.command()
def reset() -> None:
    """Start over for a new legacy world: drop the reference state, read on from the raw ends.

    ``scv sim init`` does this itself; run it after re-creating or restoring a legacy database.
    The pipeline must be stopped."""
    from scv.settings import transforms_settings
    from transforms.reset import reset_pipeline

    report = reset_pipeline(transforms_settings())
    state = "deleted" if report.state_deleted else "none yet"
    click.echo(
        f"pipeline {report.group}: reference state {report.state_topic} {state}; the group reads "
        f"on from the ends of {report.partitions} raw partitions"
    )


@pipeline.command()
@click.option(
    "--write", is_flag=True, help="Regenerate the working copy transforms/schemas/*.json."
)
@click.option(
    "--release",
    is_flag=True,
    help="Record the models' schemas as released (transforms/schemas/released/); refused for "
    "an incompatible change.",
)
def schemas(write: bool, release: bool) -> ExitCode:
    """Check the canonical event JSON Schemas against their released baselines and the working
    copy (--write regenerates the working copy, --release records the baselines)."""
    import orjson

    from transforms.events import EVENT_TYPES
    from transforms.jsonschemas import (
        generate,
        release_all,
        release_problems,
        released,
        render,
        schema_path,
        version_of,
    )

    if write or release:
        if write:
            from transforms.jsonschemas import write_all

            for path in write_all():
                click.echo(f"wrote {path}")
        if release:
            for path in release_all():
                click.echo(f"released {path}")
        return ExitCode.OK
    failed = False
    broken = release_problems()
    for event_type, model in sorted(EVENT_TYPES.items()):
        version = version_of(model)
        path = schema_path(event_type, version)
        fresh = generate(model)
        for problem in broken.get(event_type, []):
            click.echo(f"{event_type} v{version}: INCOMPATIBLE with the release: {problem}")
            failed = True
        if released(event_type, version) is None:
            click.echo(f"{event_type} v{version}: never released, run with --release")
            failed = True
        elif event_type not in broken and orjson.loads(render(fresh)) != released(
            event_type, version
        ):
            click.echo(f"{event_type} v{version}: compatible change, run with --release")
            failed = True
        if not path.exists() or path.read_bytes() != render(fresh):
            click.echo(f"{event_type} v{version}: working copy stale, run with --write")
            failed = True
    return ExitCode.FAILED if failed else ExitCode.OK


@pipeline.command()
def mappers() -> None:
    """List the registered mappers (one per captured source table)."""
    from transforms.registry import default_registry

    for entry in default_registry():
        ref = " (reference)" if entry.reference else ""
        click.echo(f"{entry.system}.{entry.table:<14} {entry.name}{ref}")
