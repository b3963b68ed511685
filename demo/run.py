"""The demo's steps: set up, simulate under a live view, drain, verify, report, cut over.

Each step is the ``scv`` command a user would type, run as a child process, so the demo shows
nothing the CLI cannot do. The pipeline and the views run in the background for the whole
simulation, under the supervisor of ``scv run`` (one that dies is restarted with back-off);
their logs go to ``<out_dir>``. At the end the EDI stage reads the run's canonical topics to
idle, the legacy nightly batch runs at the cut-off (the simulator's end) and
``scv edi parity`` compares the two: one verdict line and the report's path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

import kafkaio
from demo.errors import StepFailed
from demo.live import Snapshot, Watch, is_raw
from demo.services import ServiceChild, said, supervised
from demo.settings import DemoSettings
from kafkaio import client_config
from stack.supervision import Backoff

if TYPE_CHECKING:
    from stack.settings import StackSettings

SCV = [sys.executable, "-m", "scv"]
CANONICAL_TOPICS = ["scv.order.v1", "scv.inventory.v1", "scv.inbound.v1", "scv.shipment.v1"]
QUARANTINE_TOPIC = "scv.quarantine.v1"
#: ERP tables whose seed rows reach Kafka only by a snapshot (``scv sim init`` re-creates them,
#: and a re-created table's rows are not in the publication's stream): the items, and the
#: balances' opening stock, which the stream's 846 must count as the batch's does.
SNAPSHOT_TABLES = ("f4101", "f41002", "f41021")
#: How long ``scv edi run --until-idle`` holds a dispatch whose order line the gate
#: quarantined before rejecting it (the stage's default is 10 minutes: too long for a demo).
EDI_LINE_WAIT_S = "15"


def step(
    console: Console, title: str, args: Sequence[str], env: Mapping[str, str] | None = None
) -> None:
    """Run one ``scv`` command in the foreground; its own progress shows as it goes."""
    console.rule(f"[bold]{title}")
    code = subprocess.run([*SCV, *args], check=False, env=env).returncode
    if code != 0:
        raise StepFailed(f"scv {' '.join(args)}", code)


@contextmanager
def background(
    name: str, args: Sequence[str], out_dir: Path, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``scv`` command running for the duration of a block; SIGTERM (then wait) at the end."""
    log = out_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SCV, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _fmt_latency(pair: tuple[float | None, float | None]) -> str:
    p50, p99 = pair
    if p50 is None or p99 is None:
        return "-"
    return f"p50 {p50 * 1000:,.0f} ms · p99 {p99 * 1000:,.0f} ms"


def render(snap: Snapshot, phase: str, elapsed: float, settings: DemoSettings) -> RenderableType:
    flow = Table.grid(padding=(0, 2))
    flow.add_row("source row changes/s", f"{snap.source_changes_per_s:,.0f}")
    flow.add_row("canonical events/s", f"{snap.events_per_s:,.0f}")
    flow.add_row("canonical events seen", f"{snap.events_total:,}")
    for system, label in (
        ("erp", "latency ERP commit → gated"),
        ("wms", "latency WMS commit → gated"),
    ):
        if system in snap.latency:
            flow.add_row(label, _fmt_latency(snap.latency[system]))
    flow.add_row("", "[dim](read_committed arrival; WMS binlog times are whole seconds)[/]")

    quarantine = Table("rule", "records", box=None)
    for rule, count in snap.quarantined.most_common(8):
        quarantine.add_row(rule, f"{count:,}")
    if not snap.quarantined:
        quarantine.add_row("[dim]none yet[/]", "")

    connectors = Table.grid(padding=(0, 2))
    for name, state in snap.connectors.items():
        colour = "green" if state.startswith("RUNNING") and "FAILED" not in state else "red"
        connectors.add_row(name, f"[{colour}]{state}[/]")

    positions = Table("site", "item", "on hand", "allocated", "available", box=None)
    for row in snap.positions:
        positions.add_row(*row)
    alerts = Group(*(snap.alerts or ["[dim]no alert yet[/]"]))
    order = Group(
        snap.order or "[dim]no open order yet[/]", *(f"[dim]{line}[/]" for line in snap.timeline)
    )
    suppliers = Table("supplier", "OTIF", "on time", "in full", "lines", "avg lead", box=None)
    for supplier in snap.suppliers:
        suppliers.add_row(*supplier)
    demand = Table("series", "last bucket", "baseline", "z", "shift", box=None)
    for series in snap.demand:
        demand.add_row(*series)

    title = (
        f"scv demo · {phase} · {elapsed:,.0f}s / {settings.duration_s:,.0f}s · "
        f"{settings.rate:g} business tx/s · anomalies {settings.anomalies:.0%}"
    )
    return Panel(
        Group(
            Panel(flow, title="stream"),
            Panel(quarantine, title="quarantine by rule"),
            Panel(connectors, title="connectors"),
            Panel(positions, title="lowest available positions"),
            Panel(alerts, title="latest alerts"),
            Panel(order, title="order timeline (furthest behind its promise)"),
            Panel(suppliers, title="worst suppliers (30-day OTIF)"),
            Panel(demand, title="demand against its baseline"),
        ),
        title=title,
    )


def _raw_partitions(bootstrap: str, admin: AdminClient | None = None) -> list[kafkaio.Partition]:
    return kafkaio.partitions(bootstrap, is_raw, admin=admin)


def start_at_raw_ends(bootstrap: str, group: str) -> None:
    """Point the demo's pipeline group at the raw topics' current ends.

    Every ``scv sim init`` makes a new legacy world that reuses the same document numbers; a
    pipeline that also read an earlier world's changes would mix the two. So each demo run gets
    its own output topics, state and views, and starts reading where the raw topics end now.
    """
    ends = kafkaio.high_watermarks(bootstrap, _raw_partitions(bootstrap))
    kafkaio.commit_offsets(bootstrap, group, ends)


def _raw_lag(bootstrap: str, admin: AdminClient, consumer: Consumer, group: str) -> int:
    """Raw change records the pipeline's group (``consumer``'s) has not committed yet."""
    parts = _raw_partitions(bootstrap, admin)
    committed = kafkaio.committed_offsets(consumer, parts, group=group)
    ends = kafkaio.high_watermarks(bootstrap, parts, admin=admin)
    return sum(end - max(committed.get(part, 0), 0) for part, end in ends.items())


def run(settings: DemoSettings, console: Console) -> int:
    """The whole demo; the exit code of ``scv sim verify``, else of ``scv edi parity``."""
    from stack.credentials import load_or_create
    from stack.endpoints import exports
    from stack.settings import StackSettings

    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    step(console, "stack: start (idempotent)", ["stack", "up"])
    stack_settings = StackSettings()
    endpoints = exports(stack_settings, load_or_create(stack_settings.state_dir))
    run_id = uuid.uuid4().hex[:8]
    prefix, group = f"demo.{run_id}.", f"scv-demo-{run_id}"
    schema = f"demo_{run_id}"
    env = {
        # A demo lasts minutes, not weeks: demand buckets of 10 s with one seasonal slot, so the
        # live view's demand panel has baselines to show (unless the user set them).
        "SCV_VIEWS_DEMAND_BUCKET_S": "10",
        "SCV_VIEWS_DEMAND_SEASON": "1",
        **os.environ,
        # Every child reaches this stack, wherever its ports are (not a default's 19092).
        **endpoints,
        "SCV_TRANSFORMS_TOPIC_PREFIX": prefix,
        "SCV_TRANSFORMS_GROUP_ID": group,
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": group,
        "SCV_VIEWS_TOPIC_PREFIX": prefix,
        "SCV_QUALITY_TOPIC_PREFIX": prefix,
    }
    start_at_raw_ends(stack_settings.kafka_bootstrap, group)
    # The nightly batch's window starts with this world: the ledger also holds earlier ones.
    world_start = datetime.now(UTC).replace(microsecond=0)
    step(
        console,
        "simulator: legacy schemas and master data",
        ["sim", "init", "--seed", str(settings.seed)],
        env,
    )
    step(console, "connectors: render, validate, apply", ["connectors", "apply"], env)
    for table in SNAPSHOT_TABLES:
        step(console, f"connectors: snapshot of {table}", ["connectors", "snapshot", "erp",
             "--table", table], env)  # fmt: skip

    console.rule(f"[bold]live: simulator → Debezium → pipeline → views (run {run_id})")
    with ExitStack() as whole:
        env = {**env, "SCV_VIEWS_DB_SCHEMA": schema}
        web = whole.enter_context(
            background("console", ["serve", "--port", str(settings.console_port)], out, env)
        )
        url = wait_for_console(web, settings.console_port, out / "console.log")
        console.print(f"[bold]web console: {url}[/] (until the demo ends)")
        code = _live_and_after(settings, console, env, out, prefix, group, schema, run_id,
                               stack_settings, endpoints, world_start)  # fmt: skip
        console.print(f"web console: {url} stops now with the demo (`scv serve` keeps one up)")
    if settings.down:
        step(console, "stack: stop", ["stack", "down"])
    return code


def wait_for_console(proc: subprocess.Popen[bytes], port: int, log: Path) -> str:
    """The console's URL once it answers ``/healthz`` (30 s at most)."""
    import httpx

    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StepFailed("scv serve", proc.returncode, log)
        try:
            answered = httpx.get(f"{url}healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            answered = False  # not listening yet
        if answered:
            return url
        time.sleep(0.2)
    raise StepFailed("scv serve (no answer on /healthz within 30 s)", 1, log)


def _live_and_after(
    settings: DemoSettings,
    console: Console,
    env: dict[str, str],
    out: Path,
    prefix: str,
    group: str,
    schema: str,
    run_id: str,
    stack_settings: StackSettings,
    endpoints: Mapping[str, str],
    world_start: datetime,
) -> int:
    """Traffic, the drain, the verify, the report and the cut-over; verify's code, else parity's."""
    sim_args = [
        "sim", "run",
        "--rate", str(settings.rate),
        "--duration", str(settings.duration_s),
        "--seed", str(settings.seed),
        "--anomalies", str(settings.anomalies),
    ]  # fmt: skip
    started = time.monotonic()
    with ExitStack() as stack:
        # Under a supervisor, as `scv run` runs them: one that dies comes back (a line in the
        # live view says so), and the ledger's verdict at the end still holds.
        services = [
            ServiceChild("pipeline", [*SCV, "pipeline", "run"], out / "pipeline.log", env),
            ServiceChild("views", [*SCV, "views", "run", "--schema", schema], out / "views.log",
                         env),
        ]  # fmt: skip
        supervisor = stack.enter_context(
            supervised(services, Backoff(max_s=30.0), 60.0, lambda line: console.print(line))
        )
        sim = stack.enter_context(background("sim", sim_args, out, env))
        watch = stack.enter_context(
            Watch(
                stack_settings.kafka_bootstrap,
                stack_settings.connect_url,
                endpoints["SCV_STORE_DSN"].replace("+psycopg", ""),
                [f"{prefix}{t}" for t in CANONICAL_TOPICS],
                f"{prefix}{QUARANTINE_TOPIC}",
                schema,
            )
        )
        lag_reader = Consumer(client_config(stack_settings.kafka_bootstrap, {"group.id": group}))
        stack.callback(lag_reader.close)
        lag_admin = kafkaio.admin_client(stack_settings.kafka_bootstrap, {"log_level": 2})
        with Live(console=console, refresh_per_second=2, transient=False) as live:

            def show(phase: str) -> Snapshot:
                snap = watch.frame()
                live.update(render(snap, phase, time.monotonic() - started, settings))
                return snap

            while sim.poll() is None:
                for event in supervisor.tick():
                    live.console.print(said(services, event))
                show("simulating")
                time.sleep(0.5)
            if sim.returncode != 0:
                raise StepFailed("scv sim run", sim.returncode, out / "sim.log")
            deadline = time.monotonic() + settings.drain_timeout_s
            quiet_since, seen = time.monotonic(), -1
            while time.monotonic() < deadline:
                for event in supervisor.tick():
                    live.console.print(said(services, event))
                snap = show("draining")
                if snap.events_total != seen:
                    quiet_since, seen = time.monotonic(), snap.events_total
                if (
                    _raw_lag(stack_settings.kafka_bootstrap, lag_admin, lag_reader, group) == 0
                    and time.monotonic() - quiet_since > 5
                ):
                    break
                time.sleep(0.5)
            show("done")
            # The nightly batch's cut-off: the traffic has stopped and the stream has drained,
            # so every business transaction and its events are before it (`edi emit --as-of`
            # replays the canonical topics by the time the events were published).
            cut_off = datetime.now(UTC).replace(microsecond=0)
    console.rule("[bold]verify: ledger against the stream")
    verify = subprocess.run([*SCV, "sim", "verify", "--topic-prefix", prefix], check=False, env=env)
    report_dir = out / "quality"
    step(console, "quality report", ["quality", "report", "--out", str(report_dir)], env)
    console.print(f"quality report: {(report_dir / 'index.html').resolve()}")
    console.print(f"logs of the pipeline, views and simulator: {out.resolve()}")
    console.print(
        f"this run's topics: {prefix}scv.*.v1, views schema {schema} "
        f"(`scv inventory show --schema {schema}`)"
    )
    parity = cut_over(console, settings, env, run_id, since=world_start, at=cut_off)
    return verify.returncode or parity


def cut_over(
    console: Console,
    settings: DemoSettings,
    env: Mapping[str, str],
    run_id: str,
    *,
    since: datetime,
    at: datetime,
) -> int:
    """The stream's EDI against the nightly batch at the cut-off ``at``; parity's exit code.

    ``scv edi run --until-idle`` over this run's canonical topics (its own schema and outbox),
    the 846 of each partner as the stream stood at ``at`` (``scv edi emit --as-of``), the
    legacy batch for the window ``since`` (this world's creation) to ``at``, then
    ``scv edi parity``.
    """
    from edi.profile import load_partners

    out = settings.out_dir
    outbox, batch, report = out / "edi-outbox", out / "batch", out / "parity"
    edi_env = {
        **env,
        "SCV_EDI_TOPIC_PREFIX": env["SCV_TRANSFORMS_TOPIC_PREFIX"],
        "SCV_EDI_DB_SCHEMA": f"demo_edi_{run_id}",
        "SCV_EDI_OUTBOX_DIR": str(outbox),
        "SCV_EDI_LINE_WAIT_S": EDI_LINE_WAIT_S,
        # The 846 compared is the one as of the cut-off, emitted below.
        "SCV_EDI_SCHEDULE_846": "false",
    }
    stamp = at.isoformat().replace("+00:00", "Z")
    step(console, "edi: the stream's documents", ["edi", "run", "--until-idle"], edi_env)
    for partner, profile in sorted(load_partners().items()):
        if "846" in profile.documents:
            console.rule(f"[bold]edi: {partner}'s 846 as of the cut-off")
            emit = [*SCV, "edi", "emit", "846", "--partner", partner, "--as-of", stamp]
            done = subprocess.run(emit, check=False, env=edi_env, capture_output=True, text=True)
            console.print(done.stdout.rstrip(), markup=False)
            # Exit 1 is a refusal with its reason (an item without the GTIN the partner
            # requires): the stream's answer, which the parity report sets against the batch.
            if done.returncode not in (0, 1) or "edi: 846" not in done.stdout:
                raise StepFailed(" ".join(emit[2:]), done.returncode)
    step(console, f"legacy: the nightly batch at the cut-off {stamp}",
         ["sim", "batch", "--at", stamp, "--since", since.isoformat().replace("+00:00", "Z"),
          "--out", str(batch)], edi_env)  # fmt: skip
    console.rule("[bold]parity: the batch against the stream")
    done = subprocess.run(
        [*SCV, "edi", "parity", "--batch", str(batch), "--stream", str(outbox), "--at", stamp,
         "--out", str(report)],
        check=False, env=edi_env, capture_output=True, text=True,
    )  # fmt: skip
    log = out / "parity.log"
    log.write_text(done.stdout + done.stderr)
    verdict = next((line for line in reversed(done.stdout.splitlines()) if "cut-off" in line), None)
    if done.returncode not in (0, 1) or verdict is None:  # 1: unexplained differences
        raise StepFailed("scv edi parity", done.returncode, log)
    colour = "green" if done.returncode == 0 else "red"
    word = "PASS" if done.returncode == 0 else "FAIL"
    console.print(f"[bold {colour}]parity {word}[/]: {verdict.removeprefix('parity: ')}")
    console.print(f"parity report: {(report / 'index.html').resolve()}")
    return done.returncode
