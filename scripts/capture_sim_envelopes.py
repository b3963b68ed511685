"""Dev script: capture real Debezium envelopes of simulator traffic as mapper test fixtures.

``scv connectors record`` records one synthetic row per table and op (made-up contents); the
mapper tests also need the simulator's business cases (a case line with its item and
conversion, a cancellation, the f4211 → f42119 purge, the f43121 key-changing reversal, a
shipped WMS order, ...) together with the reference rows they are mapped with. It is a dev
tool, not part of the product: the cases are the simulator's, so it lives beside it rather
than in the connectors' recorder. On the running stack::

    eval "$(.venv/bin/scv stack env)"
    .venv/bin/scv sim init && .venv/bin/scv connectors apply
    .venv/bin/scv connectors snapshot erp --table f4101    # likewise f41002: seed rows are
    .venv/bin/scv sim run --duration 30                    # only in Kafka by a snapshot
    .venv/bin/python scripts/capture_sim_envelopes.py

It reads the raw topics from the last ``scv sim init`` on (the ledger's init run; older
records are other worlds whose item numbers mean other items) and writes, in the recorder's
format (``connectors/record.py``)::

    tests/fixtures/debezium/<erp|wms>/<table>/<case>.json                 business cases
    tests/fixtures/debezium/erp/f4101/r-item-<itm>.json                   their items,
    tests/fixtures/debezium/erp/f41002/r-uom-<itm>-<from>-<to>.json       conversions,
    tests/fixtures/debezium/wms/LOC/c-<Loc>.json                          locations,
    tests/fixtures/debezium/wms/ORDERS/c-<OrderKey>.json                  the picks' orders

Then regenerate and review the expected events (``tests/unit/transforms/test_mappers.py``).
Exit 1 if a case was not found in the traffic (run the simulator longer).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy
from confluent_kafka import Consumer, Message, TopicPartition

from connectors.record import fixture
from kafkaio import client_config

OUT = Path(__file__).parents[1] / "tests" / "fixtures" / "debezium"
Env = dict[str, Any]
Pred = Callable[[Env], bool]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _changed(env: Env, *columns: str) -> bool:
    before, after = env.get("before") or {}, env.get("after") or {}
    return any(_text(before.get(c)) != _text(after.get(c)) for c in columns)


def _only(env: Env, allowed: set[str]) -> bool:
    before, after = env.get("before") or {}, env.get("after") or {}
    diff = {c for c in after if _text(before.get(c)) != _text(after.get(c))}
    return bool(diff) and diff <= allowed


#: (table, case, predicate over the decoded envelope); the last match wins.
CASES: list[tuple[str, str, Pred]] = [
    ("f4211", "c-case", lambda e: e["op"] == "c" and _text(e["after"]["sduom"]) == "CA"),
    ("f4211", "u-release", lambda e: e["op"] == "u" and _text(e["after"]["sdlttr"]) == "540"),
    ("f4211", "u-promise", lambda e: e["op"] == "u" and _changed(e, "sdppdj")),
    ("f4211", "u-cancel", lambda e: e["op"] == "u" and _text(e["after"]["sdlttr"]) == "980"),
    ("f4211", "u-ship", lambda e: e["op"] == "u" and _text(e["after"]["sdlttr"]) == "560"),
    ("f4211", "d-purge", lambda e: e["op"] == "d"),
    ("f42119", "c-purge", lambda e: e["op"] == "c"),
    ("f4311", "c-po", lambda e: e["op"] == "c"),
    ("f4311", "u-promise", lambda e: e["op"] == "u" and _changed(e, "pdpddj")),
    ("f4311", "u-receipt", lambda e: e["op"] == "u" and _text(e["after"]["pdlttr"]) == "400"),
    ("f43121", "c-receipt", lambda e: e["op"] == "c" and _text(e["after"]["prmatc"]) == "1"),
    ("f43121", "d-reversal", lambda e: e["op"] == "d"),
    ("f43121", "c-reversal", lambda e: e["op"] == "c" and _text(e["after"]["prmatc"]) == "4"),
    ("f4101", "u-description", lambda e: e["op"] == "u" and _changed(e, "imdsc1")),
    ("ORDERS", "c-release", lambda e: e["op"] == "c"),
    (
        "ORDERS",
        "u-shipped",
        lambda e: e["op"] == "u" and _changed(e, "Status") and _text(e["after"]["Status"]) == "9",
    ),
    ("PICKDETAIL", "c-allocated", lambda e: e["op"] == "c"),
    (
        "PICKDETAIL",
        "u-picked",
        lambda e: e["op"] == "u" and _changed(e, "Status") and _text(e["after"]["Status"]) == "5",
    ),
    (
        "PICKDETAIL",
        "u-carton",
        lambda e: e["op"] == "u" and _only(e, {"CaseID", "DropID", "EditDate", "EditWho"}),
    ),
    (
        "ITRN",
        "c-count",
        lambda e: e["op"] == "c" and _text(e["after"]["SourceType"]) == "ntrCycleCount",
    ),
    ("ITRN", "c-deposit", lambda e: e["op"] == "c" and _text(e["after"]["TranType"]) == "DP"),
    (
        "ITRN",
        "c-reversal",
        lambda e: e["op"] == "c" and _text(e["after"]["SourceType"]) == "ntrReceiptReversal",
    ),
    (
        "LOTxLOCxID",
        "u-trafficcop",
        lambda e: e["op"] == "u" and _only(e, {"TrafficCop", "EditDate", "EditWho"}),
    ),
    ("RECEIPTDETAIL", "c-asn", lambda e: e["op"] == "c"),
    ("ZZ_TEMP_LOG", "c-reading", lambda e: e["op"] == "c"),
]


def _fixture(message: Message) -> bytes:
    """The record in the recorder's fixture format."""
    return orjson.dumps(fixture(message), option=orjson.OPT_INDENT_2) + b"\n"


def _env(message: Message) -> Env:
    decoded = orjson.loads(message.value() or b"{}")
    return decoded if isinstance(decoded, dict) else {}


def _row(message: Message) -> Env:
    env = _env(message)
    return env.get("after") or env.get("before") or {}


def _read(consumer: Consumer, topic: str, since_ms: int, until_ms: int) -> list[Message]:
    """The topic's records (tombstones left out) written between ``since_ms`` and
    ``until_ms``, oldest first: one cut over every topic, so a row's references are in it."""
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    starts = consumer.offsets_for_times(
        [TopicPartition(topic, p, since_ms) for p in meta.partitions], timeout=10
    )
    pending = {tp.partition for tp in starts if tp.offset >= 0}
    consumer.assign([tp for tp in starts if tp.offset >= 0])
    out: list[Message] = []
    while pending:
        for message in consumer.consume(10_000, timeout=1):
            if message.error() is not None:
                pending.discard(message.partition())
            elif message.value() is not None and message.timestamp()[1] <= until_ms:
                out.append(message)
    consumer.unassign()
    return sorted(out, key=lambda m: m.timestamp()[1])


def _last_init(store_dsn: str) -> datetime:
    engine = sqlalchemy.create_engine(store_dsn)
    try:
        with engine.connect() as conn:
            started = conn.execute(
                sqlalchemy.text("SELECT max(started_at) FROM sim.runs WHERE kind = 'init'")
            ).scalar_one()
    finally:
        engine.dispose()
    if started is None:
        raise SystemExit("no `scv sim init` in the ledger: initialise and run the simulator first")
    return started  # type: ignore[no-any-return]


def _latest(messages: Iterable[Message], pred: Pred) -> Message | None:
    """The newest record whose envelope matches (an insert or snapshot read preferred)."""
    found: Message | None = None
    for message in messages:
        env = _env(message)
        if pred(env) and (found is None or env["op"] in ("c", "r") or _env(found)["op"] == "u"):
            found = message
    return found


def _is_item(itm: str) -> Pred:
    return lambda e: e["op"] in ("c", "r", "u") and _text(e["after"]["imitm"]) == itm


def _references(chosen: dict[tuple[str, str], Message], messages: dict[str, list[Message]]) -> None:
    """Add the reference rows the chosen business rows are mapped with."""
    rows = [(table, _row(m)) for (table, _), m in chosen.items()]
    items = {_text(row.get(c)) for _, row in rows for c in ("sditm", "pditm", "pritm") if c in row}
    skus = {_text(row["Sku"]) for _, row in rows if "Sku" in row}
    for message in messages["f4101"]:
        row = _row(message)
        if _text(row.get("imlitm")) in skus:
            items.add(_text(row.get("imitm")))
    for itm in sorted(items - {""}):
        item = _latest(messages["f4101"], _is_item(itm))
        if item is not None:
            chosen[("f4101", f"r-item-{itm}")] = item
        for message in messages["f41002"]:
            row = _row(message)
            if _text(row.get("umitm")) == itm and _env(message)["op"] in ("c", "r"):
                name = f"r-uom-{itm}-{_text(row['umum'])}-{_text(row['umrum'])}"
                chosen[("f41002", name)] = message
    picks = {_text(row["OrderKey"]) for table, row in rows if table == "PICKDETAIL"}
    for message in messages["ORDERS"]:
        env = _env(message)
        if env["op"] == "c" and (key := _text(env["after"]["OrderKey"])) in picks:
            chosen[("ORDERS", f"c-{key}")] = message
    locs = {_text(row.get(c)) for _, row in rows for c in ("Loc", "ToLoc", "FromLoc") if c in row}
    for message in messages["LOC"]:
        loc = _text(_row(message).get("Loc"))
        if loc in locs and _env(message)["op"] in ("c", "r"):
            chosen[("LOC", f"c-{loc}")] = message


def main() -> int:
    store_dsn = os.environ.get("SCV_STORE_DSN")
    if not store_dsn:
        raise SystemExit('no SCV_STORE_DSN: eval "$(.venv/bin/scv stack env)" first')
    since = _last_init(store_dsn)
    since_ms = int(since.timestamp() * 1000)
    until_ms = int(time.time() * 1000) - 5_000  # what the connectors surely delivered by now
    consumer = Consumer(
        client_config(
            os.environ.get("SCV_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
            {
                "group.id": "capture-sim-envelopes",
                "enable.partition.eof": True,
                "enable.auto.commit": False,
            },
        )
    )
    wms = {"ORDERS", "PICKDETAIL", "ITRN", "LOTxLOCxID", "RECEIPTDETAIL", "ZZ_TEMP_LOG", "LOC"}
    chosen: dict[tuple[str, str], Message] = {}
    messages: dict[str, list[Message]] = {}
    for table in sorted({t for t, _, _ in CASES} | {"f4101", "f41002", "LOC"}):
        topic = f"{'wms.wmwhse1' if table in wms else 'erp.proddta'}.{table}"
        messages[table] = _read(consumer, topic, since_ms, until_ms)
    consumer.close()
    for table, case, pred in CASES:
        for message in messages[table]:
            if pred(_env(message)):
                chosen[(table, case)] = message
    _references(chosen, messages)
    for (table, case), message in sorted(chosen.items()):
        system = "erp" if (message.topic() or "").startswith("erp.") else "wms"
        path = OUT / system / table / f"{case}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_fixture(message))
        print(f"wrote {path.relative_to(OUT.parents[1])}")  # noqa: T201
    missing = [f"{t}/{c}" for t, c, _ in CASES if (t, c) not in chosen]
    for name in missing:
        print(f"missing: {name}", file=sys.stderr)  # noqa: T201
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
