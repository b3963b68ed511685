"""Order tracking through the real chain (simulator → Debezium → pipeline → views), against
the simulator's ledger, through a ``kill -9`` of the view process.

The module fixture does what a user does, through the CLI: ``scv sim init`` (it resets the
shared legacy databases), ``scv connectors apply``, the item snapshots, then ``scv sim run``
until the ledger holds short shipments (the simulator ships what it could allocate and records
a ``shipment.exception`` ``SHORT_SHIP`` for each order shipped short), then one more *tail*
run: its traffic moves every order partition's clock past the earlier runs' dispatches, so
each of them is judged (an order is judged on its own partition's clock; the last dispatches
of a run wait for later traffic on their partition, by design). Then its own pipeline to idle
and two serving schemas: the reference, read uninterrupted, and the one under test, killed
with ``kill -9`` mid-run and restarted to idle.

Checked: every order's timeline is the ledger's (placed lines and quantities, allocations and
picks summed per line, cancellations, dispatches; the source system of each step, its commit
time within the ledger's); every short shipment of the runs is alerted once with the ledger's
quantities; no alert without a cause in the ledger (short shipments of orders the ledger marks
short only; no late delivery, since every promise of these minutes-long runs is days ahead,
which the test checks from the ledger's times); the killed schema equals the reference (steps,
open orders, alerts): nothing lost or doubled. ``scv order track`` and ``scv order list --late``
answer from the tables.

Once the simulator's ``--visibility`` mode exists (late, short and cut scenarios recorded in
``sim.marks``), this test should also drive it and check: every marked late order raises
``late_delivery`` before its promised date passes (detection delay reported), every marked
short or cut order raises ``short_shipment``, and no alert lacks a mark.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from chain import namespaced_env, seed_world, spawn, start_group
from rawtopics import settled_ends, wait_quiet
from sqlalchemy import create_engine, text

from legacy_sim.verify import num

RATE, DURATION, SEED = 40, 15, 4242
#: Short shipments the main runs must produce before the tail run (at most MAX_RUNS runs).
WANT_SHORT, MAX_RUNS = 3, 6
TAIL = ("--rate", "40", "--duration", "8", "--seed", "999")
SYSTEM = {"placed": "erp", "cancelled": "erp", "line_changed": "erp",
          "allocated": "wms", "picked": "wms", "packed": "wms", "dispatched": "wms"}  # fmt: skip


def _scv(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass
class Ledger:
    """The ledger's committed transactions of the main runs and of the tail run."""

    main: list[dict[str, Any]]
    tail: list[dict[str, Any]]

    @property
    def all(self) -> list[dict[str, Any]]:
        return self.main + self.tail

    def events(
        self, kind: str, txs: list[dict[str, Any]] | None = None
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for tx in self.all if txs is None else txs:
            for event in tx["events"]:
                if event["type"] == kind:
                    yield tx, event

    def short(self, txs: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        """Order id → its dispatch's ledger event, for every order shipped short."""
        dispatches = {e["key"]: e for _, e in self.events("shipment.dispatched", txs)}
        return {
            e["order_id"]: dispatches[e["key"]]
            for _, e in self.events("shipment.exception", txs)
            if e.get("kind") == "SHORT_SHIP"
        }


@dataclass
class Chain:
    env: dict[str, str]
    run: str
    logs: Path
    ledger: Ledger
    killed_at: int = 0
    total: int = 0

    def schema(self, name: str) -> str:
        return f"{self.run}_{name}".replace("-", "_")

    def view(self, name: str) -> subprocess.Popen[bytes]:
        env = self.env | {"SCV_VIEWS_ALERTS_TOPIC": f"scv.alerts.{name}.v1"}
        return spawn(env, self.logs / f"views-{name}.log", "views", "run", "--until-idle",
                     "--schema", self.schema(name))  # fmt: skip

    def log(self, name: str) -> str:
        return (self.logs / f"views-{name}.log").read_text()

    def store(self) -> psycopg.Connection[tuple[Any, ...]]:
        dsn = self.env["SCV_STORE_DSN"].replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True)

    def rows(self, name: str, query: str) -> list[tuple[Any, ...]]:
        with self.store() as conn:
            return list(conn.execute(query.format(s=self.schema(name))).fetchall())

    def applied(self, name: str) -> int:
        with self.store() as conn:
            found = conn.execute(
                "SELECT to_regclass(%s)", (f"{self.schema(name)}.applied_events",)
            ).fetchone()
            if not found or found[0] is None:
                return 0
            row = conn.execute(
                f"SELECT count(*) FROM {self.schema(name)}.applied_events"
            ).fetchone()
            return int(row[0]) if row else 0

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [
            r[0]
            for r in self.rows(name, "SELECT value FROM {s}.alert_outbox ORDER BY seq")
            if r[0]["kind"] in ("short_shipment", "late_delivery")
        ]


def _ledger(env: dict[str, str], runs: list[int], tail: int) -> Ledger:
    engine = create_engine(env["SCV_STORE_DSN"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT run_id, kind, erp_commit_ns, wms_commit_ns, committed_at, events "
                    "FROM sim.transactions WHERE committed AND run_id = ANY(:runs) "
                    "ORDER BY run_id, seq"
                ),
                {"runs": [*runs, tail]},
            )
            txs = [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()
    return Ledger([t for t in txs if t["run_id"] in runs], [t for t in txs if t["run_id"] == tail])


def _sim_run(env: dict[str, str], *args: str) -> int:
    import re

    out = _scv(env, "sim", "run", *args)
    found = re.search(r"sim: run (\d+) ", out.stdout + out.stderr)
    assert found, out.stdout + out.stderr
    return int(found.group(1))


@pytest.fixture(scope="module")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    env = namespaced_env(endpoints, tag="itot")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    env |= {
        "SCV_VIEWS_TOPIC_PREFIX": f"{run}.",
        "SCV_VIEWS_BATCH_SIZE": "50",
        "SCV_VIEWS_IDLE_S": "3",
    }
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start_group(bootstrap, f"{run}-group", settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"]))
    seed_world(env, SEED)
    runs: list[int] = []
    for n in range(MAX_RUNS):
        pace = ("--rate", str(RATE), "--duration", str(DURATION), "--seed", str(SEED + n))
        runs.append(_sim_run(env, *pace, "--anomalies", "0", "--rollback", "0"))
        if len(_ledger(env, runs, -1).short()) >= WANT_SHORT:
            break
    tail = _sim_run(env, *TAIL, "--anomalies", "0", "--rollback", "0")
    wait_quiet(bootstrap)
    _scv(env, "pipeline", "run", "--until-idle")
    chain = Chain(env, run, tmp_path_factory.mktemp(run), _ledger(env, runs, tail))
    assert len(chain.ledger.short(chain.ledger.main)) >= WANT_SHORT, (
        f"{MAX_RUNS} runs shipped fewer than {WANT_SHORT} orders short"
    )
    yield chain
    with chain.store() as conn:
        for name in ("ref", "killed"):
            conn.execute(f"DROP SCHEMA IF EXISTS {chain.schema(name)} CASCADE")


@pytest.fixture(scope="module")
def views(chain: Chain) -> Chain:
    """The reference schema read uninterrupted; the other killed with -9 mid-run, restarted."""
    reference = chain.view("ref")
    assert reference.wait(600) == 0, chain.log("ref")
    chain.total = chain.applied("ref")
    killed = chain.view("killed")
    deadline = time.monotonic() + 300
    while chain.applied("killed") < chain.total // 2:
        assert killed.poll() is None, f"ended before the kill:\n{chain.log('killed')}"
        assert time.monotonic() < deadline, chain.log("killed")
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    chain.killed_at = chain.applied("killed")
    restarted = chain.view("killed")
    assert restarted.wait(600) == 0, chain.log("killed")
    return chain


def _steps(chain: Chain, name: str) -> dict[str, list[tuple[Any, ...]]]:
    per: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in chain.rows(
        name,
        "SELECT order_id, step, system, committed_at, line_id, quantity, detail "
        "FROM {s}.order_tracking",
    ):
        per[row[0]].append(row[1:])
    return per


def _within(found: datetime, commit_ns: int | None) -> bool:
    """A step's source commit time is the ledger's commit (MariaDB binlog times have whole
    seconds; the ledger takes its time right after COMMIT returned)."""
    assert commit_ns is not None
    ledger = datetime.fromtimestamp(commit_ns / 1e9, UTC)
    return ledger - timedelta(seconds=2) <= found <= ledger + timedelta(seconds=1)


def test_every_order_timeline_matches_the_ledger(views: Chain) -> None:
    steps = _steps(views, "killed")
    expected: dict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
    commits: dict[tuple[str, str, str], int | None] = {}
    for tx, event in views.ledger.events("order.placed"):
        for line in event["lines"]:
            expected[event["key"]][("placed", line["line_id"], num(line["qty_base"]))] += 1
            commits[(event["key"], "placed", line["line_id"])] = tx["erp_commit_ns"]
    summed: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for kind, field in (("order.allocated", "allocated_qty"), ("order.picked", "picked_qty")):
        step = kind.split(".")[1]
        for tx, event in views.ledger.events(kind):
            summed[(event["key"], step, event["line_id"])] += Decimal(str(event[field]))
            commits[(event["key"], step, event["line_id"])] = tx["wms_commit_ns"]
    for (order_id, step, line_id), qty in summed.items():
        expected[order_id][(step, line_id, num(qty))] += 1
    for tx, event in views.ledger.events("order.line_changed"):
        expected[event["key"]][("line_changed", event["line_id"])] += 1
        commits[(event["key"], "line_changed", event["line_id"])] = tx["erp_commit_ns"]
    for tx, event in views.ledger.events("order.cancelled"):
        expected[event["key"]][("cancelled", event["line_id"])] += 1
        commits[(event["key"], "cancelled", event["line_id"])] = tx["erp_commit_ns"]
    for _tx, event in views.ledger.events("order.packed"):
        for content in event["contents"]:
            carton, item = event["carton_sscc"], content["item_id"]
            expected[event["key"]][("packed", carton, item, num(content["qty"]))] += 1
    for tx, event in views.ledger.events("shipment.dispatched"):
        expected[event["order_id"]][("dispatched", event["key"])] += 1
        commits[(event["order_id"], "dispatched", event["key"])] = tx["wms_commit_ns"]
    assert len(expected) > 50, "too few orders to judge"
    wrong: list[str] = []
    for order_id, want in expected.items():
        found: Counter[tuple[str, ...]] = Counter()
        found_sums: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
        for step, system, committed, line_id, quantity, detail in steps.get(order_id, []):
            if step in ("allocated", "picked"):
                found_sums[(step, line_id)] += quantity
            elif step == "packed":  # "<qty> of <item> in carton <sscc> (pick <key>)"
                words = detail.split()
                found_sums[(step, words[5], words[2])] += quantity
            elif step == "placed":
                found[(step, line_id, num(quantity))] += 1
            elif step in ("cancelled", "line_changed"):
                found[(step, line_id)] += 1
            elif step == "dispatched":
                found[(step, detail.split()[1])] += 1  # "shipment <id> (load ...)"
            if step in SYSTEM and system != SYSTEM[step]:
                wrong.append(f"{order_id} {step} from {system}")
            key = (order_id, step, line_id if step != "dispatched" else detail.split()[1])
            if key in commits and not _within(committed, commits[key]):
                wrong.append(f"{order_id} {step} committed {committed}, ledger {commits[key]}")
        for key, qty in found_sums.items():
            found[(*key, num(qty))] += 1
        if found != want:
            wrong.append(f"{order_id}: missing {want - found}, unexpected {found - want}")
    assert not wrong, "\n".join(wrong[:20])


def test_every_short_shipment_of_the_runs_is_alerted_once_with_its_quantities(
    views: Chain,
) -> None:
    alerts = views.alerts("killed")
    raised = [a for a in alerts if a["kind"] == "short_shipment" and a["action"] == "raised"]
    by_order = Counter(a["order_id"] for a in raised)
    assert all(n == 1 for n in by_order.values()), by_order
    for order_id, dispatch in views.ledger.short(views.ledger.main).items():
        assert order_id in by_order, f"short shipment of {order_id} not alerted"
        alert = next(a for a in raised if a["order_id"] == order_id)
        ordered = sum(Decimal(str(line["ordered_qty"])) for line in dispatch["lines"])
        shipped = sum(Decimal(str(line["shipped_qty"])) for line in dispatch["lines"])
        assert (num(alert["measured"]), num(alert["threshold"])) == (num(shipped), num(ordered))
    # the tail run's short shipments: alerted, or still waiting for their partition's clock
    state = dict(views.rows("killed", "SELECT order_id, value FROM {s}.order_state"))
    for order_id in views.ledger.short(views.ledger.tail):
        if order_id not in by_order:
            assert state[order_id]["judged_through"] is None, f"{order_id} judged, not alerted"


def test_no_alert_without_a_cause_in_the_ledger(views: Chain) -> None:
    alerts = views.alerts("killed")
    short = views.ledger.short()
    causeless = [a for a in alerts if a["kind"] == "short_shipment" and a["order_id"] not in short]
    assert not causeless, causeless[:5]
    # No delivery in today's traffic: nothing ends a short shipment, nothing resolves.
    assert not [a for a in alerts if a["action"] == "resolved"]
    # Every promise is at least a day after entry (sdppdj = entry + 1..3 days): runs shorter
    # than that have no late delivery to find.
    times = [tx["committed_at"] for tx in views.ledger.all]
    assert max(times) - min(times) < timedelta(hours=20)
    assert not [a for a in alerts if a["kind"] == "late_delivery"]


def test_a_kill_9_of_the_views_loses_and_doubles_nothing(views: Chain) -> None:
    assert 0 < views.killed_at < views.total, (views.killed_at, views.total)
    assert views.applied("killed") == views.total
    query = (
        "SELECT order_id, event_id, step, occurred_at, system, committed_at, line_id, quantity, "
        "detail FROM {s}.order_tracking ORDER BY 1, 2, 3"
    )
    assert views.rows("killed", query) == views.rows("ref", query)
    opened = (
        "SELECT order_id, site_id, status, where_is, order_partition, ordered, shipped, "
        "short_shipped, promised_ship_date, promised_delivery_date, projected_delivery_date, "
        "projection_basis, days_late, late, last_step, last_step_at FROM {s}.open_orders "
        "ORDER BY 1"
    )
    assert views.rows("killed", opened) == views.rows("ref", opened)

    # the same alerts (their cause, the event that moved a clock, may differ with the read
    # order of the partitions: compared by what they say)
    def said(name: str) -> Counter[tuple[Any, ...]]:
        return Counter(
            (a["kind"], a["action"], a["order_id"], a["measured"], a["threshold"])
            for a in views.alerts(name)
        )

    assert said("killed") == said("ref")
    assert said("ref"), "no order alert at all"


def test_order_commands_answer_from_the_tables(views: Chain) -> None:
    env = views.env
    # the short order that shipped the most: it has every step before the dispatch
    order_id = max(
        views.ledger.short(views.ledger.main).items(),
        key=lambda item: sum(Decimal(str(line["shipped_qty"])) for line in item[1]["lines"]),
    )[0]
    schema = views.schema("killed")
    found = orjson.loads(_scv(env, "order", "track", order_id, "--json", "--schema", schema).stdout)
    assert found["order_id"] == order_id
    assert found["short_shipped"] is True
    assert {s["step"] for s in found["steps"]} >= {"placed", "allocated", "picked", "dispatched"}
    late = _scv(env, "order", "list", "--late", "--json", "--schema", schema).stdout
    assert late == ""
    listed = _scv(env, "order", "list", "--json", "--schema", schema).stdout.splitlines()
    assert order_id in {orjson.loads(line)["order_id"] for line in listed}
    missing = _scv(env, "order", "track", "NO-SUCH-ORDER", "--schema", schema, check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "NO-SUCH-ORDER" in missing.stderr
