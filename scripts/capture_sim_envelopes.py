"""Capture real Debezium envelopes of simulator traffic as mapper test fixtures.

``scv connectors record`` records one synthetic row per table and op; the mapper tests also
need the business cases of the simulator (a case line with its item and conversion, a
cancellation, the f4211 → f42119 purge, the f43121 key-changing reversal, a shipped WMS order,
...). After ``scv sim init`` + ``scv connectors apply`` + a snapshot of f4101/f41002 +
``scv sim run``, this reads the raw topics and writes, in the recorder's format::

    tests/fixtures/debezium/<erp|wms>/<table>/<case>.json

Usage: ``.venv/bin/python scripts/capture_sim_envelopes.py`` (stack endpoints from the env).
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Message, TopicPartition

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
    headers = [
        [k, None if v is None else base64.b64encode(v).decode()]
        for k, v in (message.headers() or [])
    ]
    key, value = message.key(), message.value()
    record = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp_ms": message.timestamp()[1],
        "key": None if key is None else key.decode(),
        "value": None if value is None else value.decode(),
        "headers_b64": headers,
    }
    return orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"


def _read(consumer: Consumer, topic: str) -> list[Message]:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
    out: list[Message] = []
    pending = set(meta.partitions)
    while pending:
        for message in consumer.consume(10_000, timeout=1):
            if message.error() is not None:
                pending.discard(message.partition())
            elif message.value() is not None:
                out.append(message)
    consumer.unassign()
    return sorted(out, key=lambda m: m.timestamp()[1])


def main() -> int:
    consumer = Consumer(
        {
            "bootstrap.servers": os.environ.get("SCV_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
            "group.id": "capture-sim-envelopes",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    prefix = {"ORDERS": "wms.wmwhse1", "PICKDETAIL": "wms.wmwhse1", "ITRN": "wms.wmwhse1",
              "LOTxLOCxID": "wms.wmwhse1", "RECEIPTDETAIL": "wms.wmwhse1",
              "ZZ_TEMP_LOG": "wms.wmwhse1", "LOC": "wms.wmwhse1"}  # fmt: skip
    chosen: dict[tuple[str, str], Message] = {}
    messages: dict[str, list[Message]] = {}
    for table in sorted({t for t, _, _ in CASES} | {"f4101", "f41002", "LOC"}):
        topic = f"{prefix.get(table, 'erp.proddta')}.{table}"
        messages[table] = _read(consumer, topic)
    for table, case, pred in CASES:
        for message in messages[table]:
            if pred(orjson.loads(message.value() or b"{}")):
                chosen[(table, case)] = message
    # The reference rows the chosen business rows need: the case line's item and conversions,
    # the pick detail's WMS order, the locations of the journal and probe rows.
    line = orjson.loads(chosen[("f4211", "c-case")].value() or b"{}")["after"]
    itm = line["sditm"]
    for message in messages["f4101"]:
        after = orjson.loads(message.value() or b"{}").get("after") or {}
        if after.get("imitm") == itm:
            chosen[("f4101", "r-item")] = message
    for message in messages["f41002"]:
        after = orjson.loads(message.value() or b"{}").get("after") or {}
        if after.get("umitm") == itm and _text(after.get("umum")) == "CA":
            chosen[("f41002", "r-case")] = message
    pick = orjson.loads(chosen[("PICKDETAIL", "c-allocated")].value() or b"{}")["after"]
    for message in messages["ORDERS"]:
        env = orjson.loads(message.value() or b"{}")
        if env["op"] == "c" and env["after"]["OrderKey"] == pick["OrderKey"]:
            chosen[("ORDERS", "c-release")] = message
    locs = {
        orjson.loads(chosen[(t, c)].value() or b"{}")["after"][col]
        for t, c, col in (("ITRN", "c-count", "ToLoc"), ("ZZ_TEMP_LOG", "c-reading", "Loc"))
    }
    for message in messages["LOC"]:
        after = orjson.loads(message.value() or b"{}").get("after") or {}
        if after.get("Loc") in locs:
            chosen[("LOC", f"c-{after['Loc']}")] = message
    for (table, case), message in sorted(chosen.items()):
        system = "erp" if message.topic().startswith("erp.") else "wms"
        path = OUT / system / table / f"{case}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_fixture(message))
        print(f"wrote {path.relative_to(OUT.parents[1])}")  # noqa: T201
    missing = [f"{t}/{c}" for t, c, _ in CASES if (t, c) not in chosen]
    for name in missing:
        print(f"missing: {name}", file=sys.stderr)  # noqa: T201
    consumer.close()
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
