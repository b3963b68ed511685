"""Supplier scorecards and demand series from the real chain equal a recomputation from the
simulator's ledger and the ERP, through a kill -9 of the view process.

The module fixture resets the shared legacy databases (``scv sim init``), applies the
connectors and runs ``scv sim run`` until receipts happened, with its own pipeline (group
starting where the raw topics ended before, own topic prefix) and its own serving schema.
Then: pipeline to idle; view process killed with ``kill -9`` mid-run, restarted to idle.

Checked:

- every supplier's scorecard (each window: all the lines are minutes old) equals the one
  recomputed from the ledger (supplier, ordered and received base quantities, reversals)
  and the ERP's dates (``f4311`` order and promised dates, ``f43121`` received dates);
- every item x site's demand total and line count equal the ledger's committed
  ``order.placed`` lines: nothing lost or counted twice across the kill;
- the alert outbox holds each (episode, action) once, episodes alternate raised/resolved,
  and every ``supplier.otif_dropped`` names a supplier with a line the ledger says was
  short; ``late_inbound_po`` never fires on today's traffic (it promises POs days ahead and
  receives them within minutes);
- then a buyer moves an open PO line's promised date three days into the past in the ERP
  (an ``f4311`` update, as the legacy screen does), more business runs, and
  ``late_inbound_po`` is raised for exactly that line once its partition's receipt clock
  passes the promised day (and resolved only if a receipt then closes it).

Once the simulator's ``--visibility`` mode exists (late POs, partial receipts, cancelled
lines, regional demand shocks recorded in ``sim.marks``) this test should also check: each
marked late PO line raised ``late_inbound_po`` (detection delay = alert time - end of the
promised day - grace), partial receipts scored once at their closing receipt, cancelled
lines unscored, and each marked demand shock raised one ``demand.shift`` in its direction
for its series (detection delay reported) with no shift outside a marked shock beyond the
false-alarm rate the threshold implies.
"""

from __future__ import annotations

import math
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from chain import namespaced_env, scv, seed_world, sim_run, spawn, start_group
from psycopg.rows import dict_row
from rawtopics import settled_ends, wait_quiet
from sqlalchemy import create_engine, text

from transforms.quirks import julian_date

RATE, DURATION = 60, 10
WINDOWS = (7, 30, 90)


@dataclass
class Chain:
    env: dict[str, str]
    run: str
    logs: Path
    runs: list[int]
    #: PO lines whose promise the test moved three days back (``_make_late``), in order.
    made_late: list[str] = field(default_factory=list)

    @property
    def schema(self) -> str:
        return self.run.replace("-", "_")

    def view(self) -> Any:
        return spawn(self.env, self.logs / "views.log", "views", "run", "--schema", self.schema,
                     "--until-idle")  # fmt: skip

    def log(self) -> str:
        return (self.logs / "views.log").read_text()

    def store(self) -> psycopg.Connection[tuple[Any, ...]]:
        dsn = self.env["SCV_STORE_DSN"].replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True)

    def count(self, table: str) -> int:
        with self.store() as conn:
            exists = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                (self.schema, table),
            ).fetchone()
            if not exists or not exists[0]:
                return 0
            row = conn.execute(f"SELECT count(*) FROM {self.schema}.{table}").fetchone()
            return int(row[0]) if row else 0


def _receipts_happened(env: dict[str, str], runs: list[int]) -> bool:
    store = create_engine(env["SCV_STORE_DSN"])
    try:
        with store.connect() as conn:
            kinds = set(
                conn.execute(
                    text(
                        "SELECT DISTINCT kind FROM sim.transactions "
                        "WHERE committed AND run_id = ANY(:runs)"
                    ),
                    {"runs": runs},
                ).scalars()
            )
    finally:
        store.dispose()
    return {"po_issue", "receipt", "order_entry"} <= kinds


@pytest.fixture(scope="module")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    env = namespaced_env(endpoints, tag="its")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    env |= {
        "SCV_VIEWS_TOPIC_PREFIX": f"{run}.",
        "SCV_VIEWS_BATCH_SIZE": "50",
        "SCV_VIEWS_IDLE_S": "3",
        "SCV_VIEWS_SUPPLIER_OTIF_MIN_LINES": "3",
        "SCV_VIEWS_DEMAND_BUCKET_S": "5",
        "SCV_VIEWS_DEMAND_SEASON": "1",
    }
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start_group(bootstrap, f"{run}-group", settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"]))
    seed_world(env, 919)
    runs: list[int] = []
    for seed in range(1, 8):
        runs.append(sim_run(env, "--rate", str(RATE), "--duration", str(DURATION),
                            "--seed", str(seed)))  # fmt: skip
        if len(runs) >= 2 and _receipts_happened(env, runs):
            break
    assert _receipts_happened(env, runs), "no receipt in the runs"
    wait_quiet(bootstrap)
    chain = Chain(env=env, run=run, logs=tmp_path_factory.mktemp(run), runs=runs)
    scv(env, "pipeline", "run", "--until-idle")
    view = chain.view()
    deadline = time.monotonic() + 120
    while chain.count("applied_events") == 0:
        assert view.poll() is None, f"view ended before it could be killed:\n{chain.log()}"
        assert time.monotonic() < deadline, chain.log()
        time.sleep(0.02)
    view.send_signal(signal.SIGKILL)
    view.wait(10)
    killed_at = chain.count("applied_events")
    restarted = chain.view()
    assert restarted.wait(300) == 0, chain.log()
    total = chain.count("applied_events")
    assert 0 < killed_at < total, f"kill must land mid-run ({killed_at} of {total})"
    yield chain
    with chain.store() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {chain.schema} CASCADE")


# --- the recomputation -----------------------------------------------------------------------


@dataclass
class Line:
    supplier: str
    ordered: Decimal
    doco: int
    lnid: int
    received: Decimal = Decimal(0)
    reversed: Decimal = Decimal(0)


def _ledger(chain: Chain) -> list[dict[str, Any]]:
    store = create_engine(chain.env["SCV_STORE_DSN"])
    try:
        with store.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT kind, keys, events FROM sim.transactions "
                    "WHERE committed AND run_id = ANY(:runs) ORDER BY run_id, seq"
                ),
                {"runs": chain.runs},
            ).mappings()
            return [dict(r) for r in rows]
    finally:
        store.dispose()


def _lines(ledger: list[dict[str, Any]]) -> dict[str, Line]:
    lines: dict[str, Line] = {}
    for tx in ledger:
        for event in tx["events"]:
            if event["type"] == "po.issued":
                doco = int(tx["keys"]["pddoco"])
                for ln in event["lines"]:
                    lnid = round(Decimal(ln["line_id"].rsplit("/", 1)[1]) * 1000)
                    lines[ln["line_id"]] = Line(
                        str(event["supplier_id"]), Decimal(str(ln["qty_base"])), doco, lnid
                    )
            elif event["type"] == "goods.received":
                lines[event["line_id"]].received += Decimal(str(event["qty_received_base"]))
            elif event["type"] == "receipt.reversed":
                lines[event["line_id"]].reversed += Decimal(str(event["qty"]))
    return lines


def _erp_dates(
    chain: Chain,
) -> tuple[dict[tuple[int, int], tuple[date, date]], dict[tuple[int, int], date]]:
    """(doco, lnid) → (order date, promised date) from f4311; → received date from the
    receipts (match type 1) of f43121."""
    erp = create_engine(chain.env["SCV_ERP_DSN"])
    try:
        with erp.connect() as conn:
            po = {
                (int(r.pddoco), int(r.pdlnid)): (julian_date(r.pdtrdj), julian_date(r.pdpddj))
                for r in conn.execute(
                    text("SELECT pddoco, pdlnid, pdtrdj, pdpddj FROM proddta.f4311")
                )
            }
            received = {
                (int(r.prdoco), int(r.prlnid)): julian_date(r.prrcdj)
                for r in conn.execute(
                    text("SELECT prdoco, prlnid, prrcdj FROM proddta.f43121 WHERE prmatc = '1'")
                )
            }
    finally:
        erp.dispose()
    return po, received  # type: ignore[return-value]


def _expected_cards(chain: Chain) -> dict[str, dict[str, Any]]:
    lines = _lines(_ledger(chain))
    po, received_on = _erp_dates(chain)
    cards: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "lines": 0,
            "on_time": 0,
            "in_full": 0,
            "otif": 0,
            "ordered": Decimal(0),
            "filled": Decimal(0),
            "leads": [],
        }
    )
    for line in lines.values():
        net = line.received - line.reversed
        if net <= 0:
            continue  # never received, or its receipt reversed: open again, not scored
        order_date, promised = po[(line.doco, line.lnid)]
        got = received_on[(line.doco, line.lnid)]
        card = cards[line.supplier]
        on_time, in_full = got <= promised, net >= line.ordered
        card["lines"] += 1
        card["on_time"] += on_time
        card["in_full"] += in_full
        card["otif"] += on_time and in_full
        card["ordered"] += line.ordered
        card["filled"] += min(net, line.ordered)
        card["leads"].append((got - order_date).days)
    return dict(cards)


def _served_cards(chain: Chain) -> list[dict[str, Any]]:
    with chain.store() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT * FROM {chain.schema}.supplier_scorecards")
        return list(cur)


def test_scorecards_equal_a_recomputation_from_the_ledger_and_the_erp(chain: Chain) -> None:
    expected = _expected_cards(chain)
    served = _served_cards(chain)
    assert sum(card["lines"] for card in expected.values()) >= 10, expected
    assert {(r["supplier_id"], r["window_days"]) for r in served if r["lines"]} == {
        (s, w) for s in expected for w in WINDOWS
    }
    for row in served:
        if not row["lines"]:
            continue
        want = expected[row["supplier_id"]]
        leads = sorted(want["leads"])
        got = {k: row[k] for k in ("lines", "timed", "on_time", "in_full", "otif", "ordered",
                                   "filled", "avg_lead_days", "p90_lead_days")}  # fmt: skip
        assert got == {
            "lines": want["lines"],
            "timed": want["lines"],
            "on_time": want["on_time"],
            "in_full": want["in_full"],
            "otif": want["otif"],
            "ordered": want["ordered"],
            "filled": want["filled"],
            "avg_lead_days": (Decimal(sum(leads)) / len(leads)).quantize(Decimal("0.01")),
            "p90_lead_days": leads[math.ceil(0.9 * len(leads)) - 1],
        }, row["supplier_id"]
        assert row["late_open_lines"] == 0


def test_scv_suppliers_scorecard_prints_the_served_rows(chain: Chain) -> None:
    out = scv(chain.env, "suppliers", "scorecard", "--schema", chain.schema, "--window", "30d",
              "--json")  # fmt: skip
    rows = [line for line in out.splitlines() if line.startswith("{")]
    assert len(rows) == len({s for s in _expected_cards(chain)})


def test_demand_totals_equal_the_ledgers_orders_through_the_kill(chain: Chain) -> None:
    want: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for tx in _ledger(chain):
        for event in tx["events"]:
            if event["type"] != "order.placed":
                continue
            site = str(event["site_id"]).strip()
            for ln in event["lines"]:
                key = f"{site}|{ln['item_id']}"
                want[key] += int(ln["qty_base"])
                lines[key] += 1
    with chain.store() as conn:
        got = {
            series: (total, count)
            for series, total, count in conn.execute(
                f"SELECT series, total, lines FROM {chain.schema}.demand_rates"
            )
        }
    assert len(want) >= 20, "too few item x site series to mean anything"
    assert got == {k: (float(want[k]), lines[k]) for k in want}


def test_alerts_are_written_once_per_episode_and_have_a_cause(chain: Chain) -> None:
    with chain.store() as conn:
        alerts = [
            row[0]
            for row in conn.execute(f"SELECT value FROM {chain.schema}.alert_outbox ORDER BY seq")
        ]
    ids = Counter(a["alert_id"] for a in alerts)
    assert not [i for i, n in ids.items() if n > 1]
    by_subject: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in alerts:
        by_subject[(a["kind"], a["subject"])].append(a["action"])
    for (kind, subject), actions in by_subject.items():
        assert actions == ["raised", "resolved"] * (len(actions) // 2) + (
            ["raised"] if len(actions) % 2 else []
        ), (kind, subject, actions)
    assert not [a for a in alerts if a["kind"] == "late_inbound_po"]
    short = {
        line.supplier
        for line in _lines(_ledger(chain)).values()
        if 0 < line.received - line.reversed < line.ordered
    }
    for a in alerts:
        if a["kind"] == "supplier.otif_dropped" and a["action"] == "raised":
            assert a["supplier_id"] in short, a


def _julian(day: date) -> int:
    return (day.year - 1900) * 1000 + day.timetuple().tm_yday


def _make_late(chain: Chain, exclude: set[str]) -> tuple[str, datetime]:
    """Move the promise of the newest open PO line without an ASN three days back in the ERP
    (the simulator advises and receives POs first in, first out: the others come first)."""
    ledger = _ledger(chain)
    done = {
        event["line_id"]
        for tx in ledger
        for event in tx["events"]
        if event["type"] == "goods.received"
    }
    advised = {
        str(tx["keys"]["po_id"])
        for tx in ledger
        for event in tx["events"]
        if event["type"] == "inbound.advised"
    }
    candidates = [
        (k, v)
        for k, v in _lines(ledger).items()
        if k not in done and k not in exclude and k.rsplit("/", 1)[0] not in advised
    ]
    assert candidates, "no open PO line to make late"
    line_id, line = max(candidates, key=lambda kv: (kv[1].doco, kv[1].lnid))
    changed_at = datetime.now(UTC)
    stamp = changed_at - timedelta(hours=13)  # in the past in every branch's time zone
    erp = create_engine(chain.env["SCV_ERP_DSN"])
    try:
        with erp.begin() as conn:
            changed = conn.execute(
                text(
                    "UPDATE proddta.f4311 SET pdpddj = :promised, pdupmj = :upmj, "
                    "pdtday = :tday, pdpid = 'EP4310' WHERE pddoco = :doco AND pdlnid = :lnid"
                ),
                {
                    "promised": _julian(changed_at.date() - timedelta(days=3)),
                    "upmj": _julian(stamp.date()),
                    "tday": int(stamp.strftime("%H%M%S")),
                    "doco": line.doco,
                    "lnid": line.lnid,
                },
            ).rowcount
    finally:
        erp.dispose()
    assert changed == 1
    chain.made_late.append(line_id)
    return line_id, changed_at


@pytest.fixture(scope="module")
def late_line(chain: Chain) -> str:
    """An open PO line's promise moved three days back in the ERP; then business in short
    runs, each taken through the pipeline and the views, until a receipt read after the
    change moved that line's partition's receipt clock while the line was still open and
    still promised so. The simulator may receive the line itself first (then another line
    is made late) or change its promise again (then it is moved back again). Its id."""
    tried: set[str] = set()
    line_id, changed_at = _make_late(chain, tried)
    late_day = (changed_at.date() - timedelta(days=3)).isoformat()
    for seed in range(20, 32):
        # receipts after the change fall in a later minute of their partition's clock
        time.sleep(61 - datetime.now(UTC).second)
        chain.runs.append(sim_run(chain.env, "--rate", str(RATE), "--duration", "3",
                                  "--seed", str(seed)))  # fmt: skip
        wait_quiet(chain.env["SCV_KAFKA_BOOTSTRAP"])
        scv(chain.env, "pipeline", "run", "--until-idle")
        view = chain.view()
        assert view.wait(300) == 0, chain.log()
        state = _line_state(chain, line_id)
        assert state is not None, line_id
        if state["receipts"] or state["promised"] != late_day:
            # received first, or promised anew by the simulator: make one late again
            if state["receipts"]:
                tried.add(line_id)
            line_id, changed_at = _make_late(chain, tried)
            late_day = (changed_at.date() - timedelta(days=3)).isoformat()
            continue
        clock = _receipt_clock(chain, state["where"])
        if clock is not None and clock > changed_at:
            return line_id
    raise AssertionError(f"no receipt on the partition of {line_id} after the change")


def _line_state(chain: Chain, line_id: str) -> dict[str, Any] | None:
    with chain.store() as conn:
        row = conn.execute(
            f"SELECT value FROM {chain.schema}.supply_state WHERE kind = 'po_line' AND key = %s",
            (line_id,),
        ).fetchone()
    return None if row is None else dict(row[0])


def _receipt_clock(chain: Chain, where: str) -> datetime | None:
    """The receipt clock of partition ``where`` (``topic|partition``) in the serving state."""
    with chain.store() as conn:
        clock = conn.execute(
            f"SELECT value->>'at' FROM {chain.schema}.supply_state "
            "WHERE kind = 'clock:receipts' AND key = %s",
            (where,),
        ).fetchone()
    return None if clock is None else datetime.fromisoformat(clock[0])


def test_a_po_line_past_its_promise_raises_late_inbound_po_once(
    chain: Chain, late_line: str
) -> None:
    with chain.store() as conn:
        alerts = [
            row[0]
            for row in conn.execute(
                f"SELECT value FROM {chain.schema}.alert_outbox "
                "WHERE value->>'kind' = 'late_inbound_po' ORDER BY seq"
            )
        ]
    # A line is late from its entry when its promise is already past (``views.suppliers``):
    # every line the test made late raised once, and a line the simulator received before
    # the test could use it resolved with that receipt. No other line raised.
    by_line: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        by_line.setdefault(alert["subject"], []).append(alert)
    assert set(by_line) <= set(chain.made_late), (chain.made_late, alerts)
    mine = by_line.get(late_line, [])
    assert [a["action"] for a in mine][:1] == ["raised"], (_line_state(chain, late_line), alerts)
    for episode in by_line.values():
        assert [a["action"] for a in episode] in (["raised"], ["raised", "resolved"]), episode
    alerts = mine
    assert "nothing received" in alerts[0]["message"]
    assert alerts[0]["po_id"] == late_line.rsplit("/", 1)[0]
    received_after = {
        event["line_id"]
        for tx in _ledger(chain)
        for event in tx["events"]
        if event["type"] == "goods.received"
    }
    assert (late_line in received_after) == (len(alerts) == 2)
