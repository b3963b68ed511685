"""The demo's steps: set up, simulate under a live view, drain, verify, report.

Each step is the ``scv`` command a user would type, run as a child process, so the demo shows
nothing the CLI cannot do. The pipeline and the views run in the background for the whole
simulation; their logs go to ``<out_dir>``.
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
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

import kafkaio
from demo.errors import StepFailed
from demo.live import Snapshot, Watch, is_raw
from demo.settings import DemoSettings
from kafkaio import client_config

SCV = [sys.executable, "-m", "scv"]
CANONICAL_TOPICS = ["scv.order.v1", "scv.inventory.v1", "scv.inbound.v1", "scv.shipment.v1"]
QUARANTINE_TOPIC = "scv.quarantine.v1"


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
    """The whole demo; returns the exit code of ``scv sim verify``."""
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
        **os.environ,
        "SCV_TRANSFORMS_TOPIC_PREFIX": prefix,
        "SCV_TRANSFORMS_GROUP_ID": group,
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": group,
        "SCV_VIEWS_TOPIC_PREFIX": prefix,
        "SCV_QUALITY_TOPIC_PREFIX": prefix,
    }
    start_at_raw_ends(stack_settings.kafka_bootstrap, group)
    step(
        console,
        "simulator: legacy schemas and master data",
        ["sim", "init", "--seed", str(settings.seed)],
        env,
    )
    step(console, "connectors: render, validate, apply", ["connectors", "apply"], env)

    sim_args = [
        "sim", "run",
        "--rate", str(settings.rate),
        "--duration", str(settings.duration_s),
        "--seed", str(settings.seed),
        "--anomalies", str(settings.anomalies),
    ]  # fmt: skip
    console.rule(f"[bold]live: simulator → Debezium → pipeline → views (run {run_id})")
    started = time.monotonic()
    with ExitStack() as stack:
        pipeline = stack.enter_context(background("pipeline", ["pipeline", "run"], out, env))
        views = stack.enter_context(
            background("views", ["views", "run", "--schema", schema], out, env)
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
                for name, proc in (("pipeline", pipeline), ("views", views)):
                    if proc.poll() is not None:
                        raise StepFailed(f"scv {name} run", proc.returncode, out / f"{name}.log")
                show("simulating")
                time.sleep(0.5)
            if sim.returncode != 0:
                raise StepFailed("scv sim run", sim.returncode, out / "sim.log")
            deadline = time.monotonic() + settings.drain_timeout_s
            quiet_since, seen = time.monotonic(), -1
            while time.monotonic() < deadline:
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
    if settings.down:
        step(console, "stack: stop", ["stack", "down"])
    return verify.returncode
