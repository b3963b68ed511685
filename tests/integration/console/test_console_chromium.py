"""``scv serve`` against the real stack after a simulator run, in headless Chromium.

The module fixture does what a user does, through the CLI: ``scv sim init`` (it resets the
shared legacy databases), ``scv connectors apply``, snapshots of the ERP item, conversion and
balance tables, then, each with this module's own namespace (consumer group, output topic
prefix, views schema), ``scv pipeline run`` and ``scv views run`` live in the background,
``scv serve`` on a free loopback port, and ``scv sim run`` with anomalies. Once the chain has
settled, Chromium (Debian's, driven over the DevTools protocol: ``cdp.py``) loads every page
at 1280 and 390 px and the tests check:

- the figures in the DOM equal the CLI's: ``scv inventory show --json`` (live and
  ``--as-of``; each sparkline ends at the on-hand), the open alerts folded from ``scv alerts
  tail --json``, ``scv quality report``'s ``summary.json`` (all time, and ``--since 1h`` for
  the pipeline's throughput and freshness p50/p99), ``scv connectors status --json``, the
  pipeline group's members and their partitions, ``scv order track --json`` and ``scv order
  list --late --json``, ``scv suppliers scorecard --json`` and ``scv demand shifts [--all]
  --json``;
- no console message, exception or log entry of level error; no request but to the console
  itself; no horizontal scroll at 390 px; every form field labelled; text contrast at least
  4.5:1 (3:1 for large text); the skip link first in keyboard order; screenshots of every page
  at both widths under ``artifacts/``;
- an alert the simulator raises appears on the open alerts page, without a reload, within 3 s
  of its record on ``scv.alerts.v1``;
- the replay button, after its confirmation, runs the same replay as ``scv quarantine replay``
  (which then finds every record the button replayed marked, and the same ones still failing).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from chain import namespaced_env, scv, seed_world, spawn, start_group
from confluent_kafka import Consumer, TopicPartition
from rawtopics import settled_ends, wait_quiet

import kafkaio
from console.alerts import open_alerts
from transforms.settings import TransformsSettings

from .cdp import Browser

pytestmark = pytest.mark.timeout(900)

WIDTHS = (1280, 390)
PAGES = {
    "stock": "/stock",
    "stock-below": "/stock?below=1",
    "orders": "/orders",
    "alerts": "/alerts",
    "quality": "/quality",
    "pipeline": "/pipeline",
    "suppliers": "/suppliers",
    "demand": "/demand?all=1",
}
#: Within how long an alert raised by the simulator must be on the open alerts page.
LIVE_WITHIN_S = 3.0

CONTRAST = """(() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return {r: p[0], g: p[1], b: p[2],
    a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
    Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) +
    0.0722 * f(c.b); };
  const back = (el) => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg')) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect(); if (box.width === 0 || box.height === 0) continue;
    const a = lum(parse(st.color)), b = lum(back(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (size >= 24 || (size >= 18.66 && bold)) ? 3 : 4.5;
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < need) low.push(`${el.tagName} "${text}" ${ratio.toFixed(2)}`);
  }
  return low;
})()"""
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map((e) => e.id || e.name)"""
POSITIONS = """[...document.querySelectorAll('#positions tbody tr[data-site]')].map((tr) =>
  Object.assign({site_id: tr.dataset.site, item_id: tr.dataset.item}, Object.fromEntries(
    [...tr.querySelectorAll('td[data-bucket]')].map((td) => [td.dataset.bucket,
                                                             td.textContent.trim()]))))"""
#: Records, per alert id, the wall time (ms) it first showed in the live region.
WATCH_ALERTS = """(() => {
  window.scvSeen = {}; window.scvMarker = 42;
  const note = () => document.querySelectorAll('#alerts-live [data-alert-id]').forEach((e) => {
    if (!(e.dataset.alertId in window.scvSeen)) window.scvSeen[e.dataset.alertId] = Date.now();
  });
  note();
  new MutationObserver(note).observe(document.getElementById('alerts-live'),
                                     {childList: true, subtree: true});
  return Object.keys(window.scvSeen).length;
})()"""


def artifacts_dir() -> Path:
    path = Path(os.environ.get("SCV_ARTIFACTS_DIR", "artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    env: dict[str, str]
    run: str
    url: str
    logs: Path
    #: Where the pipeline's group started on the raw topics.
    start: dict[tuple[str, int], int]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return self.run

    @property
    def bootstrap(self) -> str:
        return self.env["SCV_KAFKA_BOOTSTRAP"]

    def stdout(self, *args: str) -> str:
        """``scv ARGS``'s standard output (it must exit 0)."""
        done = subprocess.run(
            [sys.executable, "-m", "scv", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def cli_json(self, *args: str) -> list[Any]:
        """JSON lines of ``scv ARGS``."""
        return [orjson.loads(line) for line in self.stdout(*args).splitlines() if line]

    def store(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.env["SCV_STORE_DSN"].replace("+psycopg", ""), autocommit=True)

    def views_state(self) -> tuple[int, int]:
        """Events applied by the views, and alerts not yet published."""
        with self.store() as conn:
            applied = conn.execute(f"SELECT count(*) FROM {self.schema}.applied_events")
            waiting = conn.execute(
                f"SELECT count(*) FROM {self.schema}.alert_outbox WHERE NOT published"
            )
            return int(applied.fetchone()[0]), int(waiting.fetchone()[0])  # type: ignore[index]

    def logs_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs.glob("*.log"))

    def alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}\n{self.logs_text()}"


def settle(world: World, timeout: float = 300) -> None:
    """Until the pipeline's group has committed past every raw record and the views applied
    everything and published every alert (no change for 5 s)."""
    ends = wait_quiet(world.bootstrap)
    consumer = Consumer(kafkaio.client_config(world.bootstrap, {"group.id": f"{world.run}-group"}))
    deadline = time.monotonic() + timeout
    try:
        while True:
            world.alive()
            committed = {
                (tp.topic, tp.partition): tp.offset
                for tp in consumer.committed([TopicPartition(t, p) for t, p in ends], timeout=30)
            }
            behind = [
                part for part, end in ends.items()
                if max(committed.get(part, -1), world.start.get(part, 0)) < end
            ]  # fmt: skip
            if not behind:
                break
            assert time.monotonic() < deadline, f"pipeline behind on {behind[:3]}"
            time.sleep(1)
    finally:
        consumer.close()
    last, since = world.views_state(), time.monotonic()
    while time.monotonic() - since < 5:
        world.alive()
        assert time.monotonic() < deadline, f"views never settled\n{world.logs_text()}"
        time.sleep(1)
        now = world.views_state()
        if now != last or now[1] > 0:
            last, since = now, time.monotonic()
    assert last[0] > 0, world.logs_text()


@pytest.fixture(scope="module")
def world(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = namespaced_env(endpoints, tag="itw")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    port = free_port()
    env |= {
        "SCV_VIEWS_TOPIC_PREFIX": f"{run}.",
        "SCV_QUALITY_TOPIC_PREFIX": f"{run}.",
        "SCV_VIEWS_DB_SCHEMA": run,
        "SCV_VIEWS_BATCH_SIZE": "200",
        "SCV_TRANSFORMS_BATCH_SIZE": "200",
        "SCV_CONSOLE_CACHE_S": "1",
        "SCV_CONSOLE_POLL_S": "0.5",
    }
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start = settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"])
    start_group(bootstrap, f"{run}-group", start)
    seed_world(env, 919, snapshots=("f4101", "f41002", "f41021"))
    logs = tmp_path_factory.mktemp(run)
    world = World(env, run, f"http://127.0.0.1:{port}", logs, start)
    world.procs = {
        "pipeline": spawn(env, logs / "pipeline.log", "pipeline", "run"),
        "views": spawn(env, logs / "views.log", "views", "run"),
        "console": spawn(env, logs / "console.log", "serve", "--port", str(port)),
    }
    try:
        scv(env, "sim", "run", "--rate", "30", "--duration", "15", "--anomalies", "0.03",
            "--seed", "3")  # fmt: skip
        settle(world)
        yield world
    finally:
        for proc in world.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in world.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with world.store() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {world.schema} CASCADE")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    found = Browser()
    try:
        yield found
    finally:
        found.close()


def show(browser: Browser, world: World, path: str, width: int = 1280) -> None:
    browser.viewport(width)
    browser.open(world.url + path)


def no_trouble(browser: Browser, world: World) -> None:
    """No console error or exception so far, and no request but to the console."""
    assert browser.log.errors == [], browser.log.errors
    outside = [u for u in browser.log.requests if not u.startswith(world.url + "/")]
    assert outside == [], outside


def test_every_page_at_both_widths(browser: Browser, world: World) -> None:
    shots = artifacts_dir()
    for width in WIDTHS:
        for name, path in PAGES.items():
            show(browser, world, path, width)
            time.sleep(0.3)  # a live part refreshes at least once on the pages that have one
            assert browser.eval("document.title").endswith("· scv console"), path
            assert browser.eval("document.querySelector('main h1') !== null"), path
            assert browser.eval("document.documentElement.scrollWidth") <= width, (path, width)
            assert browser.eval(UNLABELLED) == [], path
            assert browser.eval(CONTRAST) == [], (path, width)
            shot = shots / f"console-{name}-{width}.png"
            browser.screenshot(shot, width)
            assert shot.stat().st_size > 5_000
            print(f"console screenshot: {shot}")  # noqa: T201 - the CI artifact path
    no_trouble(browser, world)


def test_the_keyboard_reaches_the_skip_link_first(browser: Browser, world: World) -> None:
    show(browser, world, "/stock")
    browser.key("Tab", 9)
    assert browser.eval("document.activeElement.className") == "skip"
    browser.key("Enter", 13)
    time.sleep(0.2)
    assert browser.eval("location.hash") == "#main"
    browser.key("Tab", 9)
    assert browser.eval("document.activeElement.id") == "site"  # the first filter
    no_trouble(browser, world)


def test_stock_equals_inventory_show_live_and_as_of(browser: Browser, world: World) -> None:
    cli = world.cli_json("inventory", "show", "--json")
    show(browser, world, "/stock")
    assert browser.eval(POSITIONS) == cli
    assert len(cli) > 10
    below = browser.eval("document.querySelectorAll('#positions tr.below').length")
    assert below == sum(1 for p in cli if float(p["available"]) < 20)  # default reorder point
    # each position's sparkline ends at its on-hand now (the history's last sample)
    trends = browser.eval(
        "Object.fromEntries([...document.querySelectorAll('#positions tr[data-site]')].map("
        "(tr) => [tr.dataset.site + '|' + tr.dataset.item, "
        "tr.querySelector('svg.spark')?.getAttribute('aria-label')]))"
    )
    now = {k: None if v is None else Decimal(v.rsplit(", now ", 1)[1]) for k, v in trends.items()}
    assert now == {f"{p['site_id']}|{p['item_id']}": Decimal(p["on_hand"]) for p in cli}
    at = datetime.now(UTC).isoformat()
    cli_then = world.cli_json("inventory", "show", "--json", "--as-of", at)
    show(browser, world, "/stock?as_of=" + at.replace("+", "%2B"))
    assert browser.eval(POSITIONS) == cli_then
    no_trouble(browser, world)


def test_open_alerts_equal_the_alerts_topic(browser: Browser, world: World) -> None:
    log = world.cli_json("alerts", "tail", "--json")
    opened = {str(a["alert_id"]) for a in open_alerts(log)}
    assert opened, "the simulator run raised no alert"
    show(browser, world, "/alerts")
    shown = browser.eval(
        "[...document.querySelectorAll('#open-alerts tr[data-alert-id]')]"
        ".map((tr) => tr.dataset.alertId)"
    )
    assert sorted(shown) == sorted(opened)
    recent = browser.eval("document.querySelectorAll('#recent-alerts tr[data-alert-id]').length")
    assert recent == min(100, len(log))
    no_trouble(browser, world)


def test_quality_equals_the_quality_summary(browser: Browser, world: World, tmp_path: Path) -> None:
    scv(world.env, "quality", "report", "--no-data-docs", "--out", str(tmp_path))
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    totals = summary["totals"]
    assert totals["passed"] > 0
    assert totals["quarantined"] > 0
    show(browser, world, "/quality")
    assert browser.eval("document.getElementById('total-passed').textContent") == (
        f"{totals['passed']:,}"
    )
    assert browser.eval("document.getElementById('total-quarantined').textContent") == (
        f"{totals['quarantined']:,}"
    )
    types = browser.eval(
        "[...document.querySelectorAll('#event-types tr[data-event-type]')].map((tr) => "
        "[tr.dataset.eventType, ...[...tr.querySelectorAll('td[data-figure]')]"
        ".map((td) => td.textContent)])"
    )
    assert types == [
        [t["name"], str(t["passed"]), str(t["quarantined"]),
         "-" if t["pass_rate"] is None else f"{t['pass_rate']:.2%}"]
        for t in summary["event_types"]
    ]  # fmt: skip
    rules = browser.eval(
        "[...document.querySelectorAll('#rules tr[data-rule]')].map((tr) => "
        "[tr.dataset.rule, tr.querySelector('td').textContent])"
    )
    assert rules == [[f["rule"], str(f["count"])] for f in summary["failures"]]
    first = browser.eval("document.querySelector('#latest-records a').getAttribute('href')")
    record_id = first.rsplit("/", 1)[1]
    show(browser, world, first)
    shown = orjson.loads(browser.eval("document.getElementById('record').textContent"))
    browser.screenshot(artifacts_dir() / "console-quarantine-record-1280.png", 1280)
    cli = orjson.loads(world.stdout("quarantine", "show", record_id))
    assert shown == cli  # the same masked view as `scv quarantine show`
    no_trouble(browser, world)


def test_pipeline_shows_connect_and_the_lag(browser: Browser, world: World) -> None:
    status = orjson.loads(world.stdout("connectors", "status", "--json"))
    show(browser, world, "/pipeline")
    states = browser.eval(
        "Object.fromEntries([...document.querySelectorAll('#connectors tr[data-connector]')]"
        ".map((tr) => [tr.dataset.connector, tr.querySelectorAll('td')[0].textContent]))"
    )
    assert states == {c["name"]: c["state"] for c in status}
    risks = browser.eval(
        "Object.fromEntries([...document.querySelectorAll('#connectors tr[data-connector]')]"
        ".map((tr) => [tr.dataset.connector, tr.querySelector('[class^=risk-]').textContent]))"
    )
    assert risks == {c["name"]: c["data_loss_risk"]["level"].upper() for c in status}
    group = f"pipeline group {world.run}-group"
    total = browser.eval(f"document.querySelector('[data-lag-total=\"{group}\"]').textContent")
    assert total == "0"  # settled: the group committed past every raw record
    # the instances: this module's runner (its group's one member, every raw partition
    # assigned to it) and its view process
    group = kafkaio.describe_group(world.bootstrap, f"{world.run}-group")
    assert len(group.members) == 1
    runners = browser.eval(
        "[...document.querySelectorAll('#instances tr[data-stage=pipeline]')].map((tr) => "
        "[tr.dataset.instance, tr.querySelector('[data-partition-count]').textContent])"
    )
    assert runners == [[m.client_id, str(len(m.partitions))] for m in group.members]
    raw = kafkaio.partitions(world.bootstrap, re.compile(TransformsSettings().source_pattern))
    assert len(group.members[0].partitions) == len(raw) > 0
    assert browser.eval("document.querySelectorAll('#instances tr[data-stage=views]').length") == 1
    no_trouble(browser, world)


def test_pipeline_throughput_and_freshness_equal_the_quality_report_of_the_last_hour(
    browser: Browser, world: World, tmp_path: Path
) -> None:
    scv(world.env, "quality", "report", "--no-data-docs", "--since", "1h", "--out", str(tmp_path))
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f} ms"

    show(browser, world, "/pipeline")
    shown = browser.eval(
        "[...document.querySelectorAll('#freshness tr[data-event-type]')].map((tr) => "
        "[tr.dataset.eventType, ...[...tr.querySelectorAll('td')].map((td) => td.textContent)])"
    )
    expected = [
        [t["name"], str(t["passed"]), f"{t['passed'] / 60:.1f}",
         ms(t["freshness"]["p50_ms"]), ms(t["freshness"]["p99_ms"])]
        for t in summary["event_types"]
    ]  # fmt: skip
    assert shown == expected
    # live reads carry a source commit time: freshness figures, not only snapshots
    assert any(row[3] != "-" for row in shown), shown
    no_trouble(browser, world)


def test_an_orders_timeline_and_the_late_orders_equal_scv_order(
    browser: Browser, world: World
) -> None:
    with world.store() as conn:
        row = conn.execute(
            f"SELECT order_id FROM {world.schema}.order_tracking GROUP BY order_id "
            "ORDER BY count(*) DESC, order_id LIMIT 1"
        ).fetchone()
    assert row is not None, "the views tracked no order"
    order = str(row[0])
    tracked = orjson.loads(world.stdout("order", "track", order, "--json"))
    assert len(tracked["steps"]) > 1
    show(browser, world, f"/orders?q={order}")
    assert browser.eval("document.getElementById('timeline-title').textContent") == (
        f"Order {order}"
    )
    steps = browser.eval(
        "[...document.querySelectorAll('#timeline li')].map((li) => [li.dataset.step, "
        "li.querySelector('time').getAttribute('datetime'), li.dataset.system, "
        "li.dataset.eventId])"
    )
    assert steps == [
        [st["step"], st["occurred_at"], st["system"], st["event_id"]] for st in tracked["steps"]
    ]
    summary = browser.eval(
        "Object.fromEntries([...document.querySelectorAll('#order-summary dd[data-field]')]"
        ".map((dd) => [dd.dataset.field, dd.textContent.trim()]))"
    )
    assert summary["status"] == tracked["status"]
    assert summary["where"] == tracked["where"]
    assert summary["promised_delivery_date"] == (tracked["promised_delivery_date"] or "-")
    late = world.cli_json("order", "list", "--late", "--json")
    show(browser, world, "/orders")
    shown = browser.eval(
        "[...document.querySelectorAll('#late-orders tr[data-order]')].map((tr) => "
        "[tr.dataset.order, tr.querySelector('td').textContent])"
    )
    assert shown == [[o["order_id"], str(o["days_late"])] for o in late]
    for width in WIDTHS:
        show(browser, world, f"/orders?q={order}", width)
        assert browser.eval("document.documentElement.scrollWidth") <= width
        browser.screenshot(artifacts_dir() / f"console-order-timeline-{width}.png", width)
    no_trouble(browser, world)


def test_a_new_alert_shows_on_the_open_alerts_page_within_3_s(
    browser: Browser, world: World
) -> None:
    topic = f"{world.run}.scv.alerts.v1"
    before = {orjson.loads(m.value())["alert_id"] for m in kafkaio.read_committed(
        world.bootstrap, [topic])}  # fmt: skip
    show(browser, world, "/alerts")
    loads = browser.log.loads
    browser.eval(WATCH_ALERTS)
    sim = spawn(world.env, world.logs / "sim-live.log", "sim", "run", "--rate", "30",
                "--duration", "20", "--anomalies", "0.03", "--seed", "11")  # fmt: skip
    assert sim.wait(180) == 0, (world.logs / "sim-live.log").read_text()
    # the chain catches up with the run, then every new alert's record is read with its time
    settle(world)
    raised: dict[str, int] = {}
    for message in kafkaio.read_committed(world.bootstrap, [topic]):
        record = orjson.loads(message.value())
        if record["alert_id"] not in before and record["action"] == "raised":
            raised[record["alert_id"]] = message.timestamp()[1]
    assert raised, "the second simulator run raised no alert"
    seen: dict[str, int] = browser.eval("window.scvSeen")
    late = {
        alert_id: (seen.get(alert_id), published)
        for alert_id, published in raised.items()
        if alert_id not in seen or seen[alert_id] - published > LIVE_WITHIN_S * 1000
    }
    delays = sorted((seen[a] - t) / 1000 for a, t in raised.items() if a in seen)
    print(f"live alerts: {len(raised)}, page delay after publication (s): {delays}")  # noqa: T201
    assert late == {}, (
        f"shown late or never ({len(late)} of {len(raised)}): {list(late.items())[:5]}"
    )
    assert browser.eval("window.scvMarker") == 42  # the same page: never reloaded
    assert browser.log.loads == loads
    no_trouble(browser, world)


def test_the_replay_button_runs_scv_quarantine_replay(browser: Browser, world: World) -> None:
    show(browser, world, "/quality")
    loads = browser.log.loads
    browser.eval("document.getElementById('replay-start').click()")
    wait_load(browser, loads)
    asked = browser.eval("document.getElementById('confirm-title').textContent")
    assert re.fullmatch(r"Replay \d+ quarantined records?\?", asked), asked
    loads = browser.log.loads
    browser.eval("document.getElementById('replay-confirm').click()")
    wait_load(browser, loads, timeout=300)
    outcome = browser.eval("document.getElementById('replay-outcome').textContent")
    found = re.match(
        r"(\d+) selected, (\d+) replayed before, (\d+) replayed now in \d+ transactions "
        r"\((\d+) events\), (\d+) still failing",
        outcome,
    )
    assert found, outcome
    selected, before, now, _events, failing = (int(g) for g in found.groups())
    assert selected > 0
    # a record that still fails stays in quarantine, unmarked; every other one is marked
    assert before + now + failing == selected
    again = world.stdout("quarantine", "replay")
    assert again.startswith(
        f"replay: {selected} selected, {before + now} replayed before, 0 replayed now"
    ), again
    assert f", {failing} still failing" in again.splitlines()[0], again
    no_trouble(browser, world)


def wait_load(browser: Browser, loads: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while browser.log.loads == loads:
        assert time.monotonic() < deadline, "the form did not load a page"
        time.sleep(0.05)


def test_suppliers_and_demand_equal_the_cli(browser: Browser, world: World) -> None:
    # Scorecards need a PO line closed by a receipt: more traffic until one was.
    for seed in (21, 22, 23):
        if world.cli_json("suppliers", "scorecard", "--json"):
            break
        scv(world.env, "sim", "run", "--rate", "40", "--duration", "10", "--seed", str(seed))
        settle(world)
    cards = world.cli_json("suppliers", "scorecard", "--json")
    assert cards, "no scorecard after four simulator runs"

    def percent(value: str | None) -> str:
        return "-" if value is None else f"{Decimal(value) * 100:.1f}%"

    show(browser, world, "/suppliers")
    shown = browser.eval(
        "[...document.querySelectorAll('#scorecards tr[data-supplier]')].map((tr) => "
        "Object.assign({supplier_id: tr.dataset.supplier, window_days: tr.dataset.window}, "
        "Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => "
        "[td.dataset.field, td.textContent.trim()]))))"
    )
    rates = ("on_time_rate", "in_full_rate", "otif_rate", "fill_rate")
    plain = ("lines", "avg_lead_days", "p90_lead_days", "avg_quoted_days", "late_open_lines",
             "as_of")  # fmt: skip
    assert shown == [
        {"supplier_id": c["supplier_id"], "window_days": c["window_days"]}
        | {f: percent(c[f]) for f in rates}
        | {f: "-" if c[f] is None else c[f] for f in plain}
        for c in cards
    ]
    for width in WIDTHS:
        show(browser, world, "/suppliers", width)
        assert browser.eval("document.documentElement.scrollWidth") <= width

    fields = ("shift", "bucket_start", "quantity", "baseline", "sd", "z", "since")
    for path, args in (("/demand?all=1", ("--all",)), ("/demand", ())):
        series = world.cli_json("demand", "shifts", "--json", *args)
        show(browser, world, path)
        shown = browser.eval(
            "[...document.querySelectorAll('#demand tr[data-series]')].map((tr) => "
            "Object.assign({series: tr.dataset.series}, Object.fromEntries("
            "[...tr.querySelectorAll('td[data-field]')].map((td) => "
            "[td.dataset.field, td.textContent.trim()]))))"
        )
        assert shown == [
            {"series": r["series"]} | {f: "-" if r[f] is None else r[f] for f in fields}
            for r in series
        ], path
        if args:
            assert series, "no demand series after the simulator runs"
    no_trouble(browser, world)


def test_every_events_dataschema_resolves_on_the_console(world: World) -> None:
    """The ``dataschema`` of each event on the canonical topics, with the console's address,
    answers the JSON Schema of that event type and version."""
    import httpx

    from transforms.events import CANONICAL_TOPICS, DEFAULT_SCHEMA_BASE_URL

    urls: set[str] = set()
    topics = [f"{world.run}.{t}" for t in CANONICAL_TOPICS]
    for message in kafkaio.read_committed(world.bootstrap, topics):
        headers = dict(message.headers() or [])
        urls.add(bytes(headers["ce_dataschema"]).decode())
    assert len(urls) > 3
    for url in sorted(urls):
        assert url.startswith(DEFAULT_SCHEMA_BASE_URL + "/"), url
        path = url.removeprefix(DEFAULT_SCHEMA_BASE_URL)
        answer = httpx.get(f"{world.url}/schemas{path}", timeout=10)
        assert answer.status_code == 200, url
        event_type, version = path.strip("/").split("/")
        schema = answer.json()
        assert schema["properties"]["event_type"]["const"] == event_type, url
        assert version.startswith("v"), url


def test_the_console_serves_every_stages_metrics(world: World) -> None:
    """``/metrics`` of the console, parsed by prometheus-client: this module's runner and view
    process running, nothing waiting (settled), every connector's state."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    settle(world)
    answer = httpx.get(f"{world.url}/metrics/", timeout=30)
    assert answer.status_code == 200
    samples = [s for f in text_string_to_metric_families(answer.text) for s in f.samples]

    def total(name: str, **labels: str) -> float:
        return sum(
            s.value for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )  # fmt: skip

    assert total("scv_stage_members", stage="pipeline") == 1
    assert total("scv_stage_members", stage="views") == 1
    assert total("scv_consumer_lag_messages", stage="pipeline") == 0
    assert total("scv_consumer_lag_messages", stage="views") == 0
    status = orjson.loads(world.stdout("connectors", "status", "--json"))
    running = {s.labels["connector"]: s.value for s in samples if s.name == "scv_connector_running"}
    assert running == {c["name"]: float(c["running"]) for c in status}
