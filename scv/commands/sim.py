"""``scv sim``: the legacy ERP/WMS simulator (schemas, seed data, workload, ledger)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scv.commands.audit import operator_action

if TYPE_CHECKING:
    from rich.console import Console

    from legacy_sim.runner import InitResult, RunStats
    from legacy_sim.settings import SimSettings


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _settings() -> SimSettings:
    from scv.settings import sim_settings

    return sim_settings()


@click.group()
def sim() -> None:
    """Simulate a JDE-style ERP (PostgreSQL) and an Exceed-style WMS (MariaDB)."""


@sim.command()
@click.option("--seed", type=int, default=1, show_default=True, help="Master-data seed.")
@click.option(
    "--profile",
    type=click.Choice(["demo", "midsize"]),
    default="demo",
    show_default=True,
    help="demo: 3 sites, 60 items; midsize: research §8 (25k items, 5k customers).",
)
def init(seed: int, profile: str) -> None:
    """Drop and recreate the legacy schemas and the ledger; seed master data and stock."""
    console = _console()
    with operator_action("sim init", None, None, seed=seed, profile=profile):
        result = _init(console, seed, profile)
    rows = ", ".join(f"{t} {n}" for t, n in result.rows.items())
    console.print(
        f"sim: initialised (profile {profile}, seed {seed}) in {result.seconds:.1f}s: {rows}"
    )


def _init(console: Console, seed: int, profile: str) -> InitResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from legacy_sim import runner
    from legacy_sim.profiles import PROFILES
    from legacy_sim.seed import build_world, row_estimate

    # Before the first seed row: Debezium streams them as soon as they commit, and the
    # pipeline must read them (it reads on from the raw topics' ends as of now).
    _reset_pipeline(console)
    total = row_estimate(build_world(seed, PROFILES[profile]))
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"seeding ({profile})", total=total)
        result = runner.init(
            _settings(),
            seed,
            profile,
            lambda n: bar.advance(task, n),
            on_schemas_created=lambda: _republish(console),
        )
    return result


def _reset_pipeline(console: Console) -> None:
    """A new world reuses the earlier one's numbers: the pipeline (``SCV_TRANSFORMS_*``)
    starts over (see ``transforms.reset``), or is named as the reason it cannot be."""
    from scv.settings import transforms_settings
    from transforms.reset import reset_pipeline

    report = reset_pipeline(transforms_settings())
    state = "deleted" if report.state_deleted else "none yet"
    console.print(
        f"sim: pipeline {report.group} starts over for a new world: reference state "
        f"{report.state_topic} {state}; the group reads on from the ends of "
        f"{report.partitions} raw partitions"
    )


def _republish(console: Console) -> None:
    """Put the recreated ERP tables back into the connector's publication before seeding.

    ``DROP SCHEMA proddta CASCADE`` removes its tables from the publication, and a running ERP
    connector would then stream nothing, silently. Only an existing publication is repaired:
    before the first ``scv connectors apply`` there is nothing to repair.
    """
    from connectors.ops import prepare
    from connectors.sources import Dsn, pg_connect, publication_tables
    from connectors.specs import DEFAULT_SPECS, PostgresSpec, load_specs
    from scv.settings import connectors_settings

    settings = connectors_settings()
    for spec in load_specs(DEFAULT_SPECS).values():
        if not isinstance(spec, PostgresSpec):
            continue
        owner = Dsn.parse(settings.owner_dsns[spec.name].get_secret_value())
        with pg_connect(owner.host, owner.port, owner.user, owner.password, owner.database) as c:
            exists = publication_tables(c, spec.publication) is not None
        if exists:
            for change in prepare(spec, settings):
                console.print(f"sim: connector {spec.name}: {change}")


def _describe(stats: RunStats) -> str:
    return (
        f"{stats.done}/{stats.planned} tx · {stats.tx_per_s:.1f} tx/s · "
        f"{stats.rows_per_s:.0f} rows/s · {stats.rolled_back} rolled back · "
        f"{stats.anomalies} anomalies · behind {stats.behind:.2f}s"
    )


@sim.command()
@click.option("--rate", type=float, default=20.0, show_default=True, help="Business tx/s.")
@click.option("--duration", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=1, show_default=True, help="Workload seed.")
@click.option(
    "--anomalies", type=float, default=0.0, show_default=True, help="Share of defective tx."
)
@click.option(
    "--rollback", type=float, default=0.01, show_default=True, help="Share rolled back on purpose."
)
@click.option(
    "--visibility",
    is_flag=True,
    help="Also inject the exceptions the visibility views alert (late and partial POs, "
    "cancelled PO lines, back-dated promises, cut picks, regional demand shocks), each marked "
    "in the ledger (sim.marks).",
)
@click.option(
    "--carrier",
    is_flag=True,
    help="Give each dispatched shipment a carrier journey, posted to `scv carrier serve`.",
)
@click.option(
    "--carrier-url",
    default="http://127.0.0.1:18090/v1/tracking",
    show_default=True,
    help="Where --carrier posts the tracking updates.",
)
def run(
    rate: float,
    duration: float,
    seed: int,
    anomalies: float,
    rollback: float,
    visibility: bool,
    carrier: bool,
    carrier_url: str,
) -> None:
    """Run business processes across both databases at a held rate, into the ledger.

    SIGTERM ends the run after the transaction in progress, recorded as interrupted. With
    --carrier the run ends once every journey's updates are posted (or given up on)."""
    import signal
    import threading

    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    from legacy_sim import runner

    options = runner.RunOptions(
        rate=rate,
        duration=duration,
        seed=seed,
        anomaly_rate=anomalies,
        rollback_rate=rollback,
        visibility=visibility,
        carrier_url=carrier_url if carrier else None,
    )
    console = _console()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=max(1, round(rate * duration)))

        def show(stats: RunStats) -> None:
            bar.update(task, completed=stats.done, description=_describe(stats))

        stopping = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        try:
            stats = runner.run(_settings(), options, show, stop=stopping.is_set)
        finally:
            signal.signal(signal.SIGTERM, previous)
    verdict = "interrupted" if stats.interrupted else "done"
    console.print(f"sim: run {stats.run_id} {verdict} in {stats.elapsed:.1f}s: {_describe(stats)}")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(stats.by_kind.items()))
    console.print(f"sim: by kind: {kinds}")
    if visibility:
        marked = ", ".join(f"{k} {n}" for k, n in sorted(stats.marks.items())) or "none"
        console.print(f"sim: marked causes (sim.marks): {marked}")
    feed = stats.carrier
    if feed is not None:
        console.print(
            f"sim: carrier: {feed.journeys} journeys, {feed.posted} updates posted: "
            f"{feed.accepted} accepted, {feed.duplicates} duplicates, {feed.rejected} rejected "
            f"(malformed on purpose), {feed.retries} retries"
        )
        if feed.failures:
            shown = "; ".join(feed.failures[:3])
            raise click.ClickException(f"carrier feed: {len(feed.failures)} failures: {shown}")


@sim.command()
def drift() -> None:
    """Add a column to a captured table in each database (ALTER TABLE ... ADD COLUMN)."""
    from legacy_sim import runner

    for db, outcome in runner.drift(_settings()).items():
        change = runner.DRIFTS[db]
        click.echo(f"sim: {db}: {change.table} ADD COLUMN {change.column}: {outcome}")


def _moment(value: str, option: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; none means UTC), or ``now``."""
    from datetime import UTC, datetime

    if value == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time (2026-03-02T23:00:00Z) or 'now'",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@sim.command()
@click.option("--at", "at_", default="now", show_default=True, help="Cut-off: ISO 8601 or now.")
@click.option("--since", default=None, help="Start of the window (default: 24 hours before --at).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="New or empty directory for the files (default: edi-batch/<cut-off>).",
)
@click.option(
    "--without",
    multiple=True,
    metavar="DEFECT",
    help="Switch one of the batch's defects off (repeatable; see --list-defects).",
)
@click.option("--no-defects", is_flag=True, help="Switch every defect off.")
@click.option("--list-defects", is_flag=True, help="Print the defects and exit.")
@click.option(
    "--partners",
    "partners_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Partner profiles (default: the EDI stage's, SCV_EDI_PARTNERS_DIR).",
)
def batch(
    at_: str,
    since: str | None,
    out_dir: Path | None,
    without: tuple[str, ...],
    no_defects: bool,
    list_defects: bool,
    partners_dir: Path | None,
) -> None:
    """The legacy nightly EDI extract at a cut-off: X12 846/856/944/945 files + manifest."""
    from datetime import UTC, timedelta

    from legacy_sim.batch.defects import DEFECTS

    if list_defects:
        for name, what in DEFECTS.items():
            click.echo(f"{name:<26} {what}")
        return
    unknown = sorted(set(without) - set(DEFECTS))
    if unknown:
        raise click.BadParameter(
            f"unknown defect {', '.join(unknown)} (known: {', '.join(DEFECTS)})",
            param_hint="--without",
        )
    from edi.settings import EdiSettings
    from legacy_sim.batch import job

    at = _moment(at_, "--at")
    start = _moment(since, "--since") if since else at - timedelta(hours=24)
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = job.BatchOptions(
        at=at,
        since=start,
        out_dir=out_dir or Path("edi-batch") / stamp,
        partners_dir=partners_dir or EdiSettings().partners_dir,
        defects=frozenset() if no_defects else frozenset(DEFECTS) - set(without),
    )
    options.validate(datetime.now(UTC))  # before the settings: a mistake touches nothing
    result = job.run(_settings(), options)
    for f in result.files:
        click.echo(
            f"sim: batch {f.partner:<22} {f.document}  {f.sets:>4} sets  ISA13 {f.control:09d}  "
            f"{result.out_dir / f.partner / f.name}"
        )
    fired: dict[str, int] = {}
    for firing in result.firings:
        fired[firing.defect] = fired.get(firing.defect, 0) + 1
    state = ", ".join(
        f"{name} {fired.get(name, 0) if name in options.defects else 'off'}" for name in DEFECTS
    )
    click.echo(f"sim: batch defects fired: {state}")
    click.echo(f"sim: batch manifest {result.manifest}")
