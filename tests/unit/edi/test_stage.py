"""``scv edi run`` around the plan: one transaction per batch, then the outbox; crashes at
every step between them lose and duplicate nothing.

The store is an in-memory stand-in with the real ``Store``'s contract: a transaction's
writes are kept only if its block ends without raising (then all of them), the control
numbers, documents (unique per partner x ISA13 and per partner x type x business key),
rejects, processed ids, state and offsets are what the SQL keeps. Messages are canonical
records as the pipeline produces them (``to_kafka``).
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

import edi.outbox
import kafkaio
from edi import outbox
from edi.errors import OutboxError, UsageError
from edi.plan import EPOCH, Controls, Document, Item, Planned, Reject, State, StockRow
from edi.profile import PartnerProfile, load_partners
from edi.settings import EdiSettings
from edi.stage import Stage, emit_846, parse_time
from edi.store import PendingFile
from transforms.events import CanonicalEvent, to_kafka

from . import events as ev
from . import oracle

PARTNERS = load_partners()
NOW = ev.CREATED


class FakeMessage:
    def __init__(
        self, topic: str, offset: int, value: bytes | None, headers: list[Any], at: datetime
    ) -> None:
        self._topic, self._offset, self._value = topic, offset, value
        self._headers, self._at = headers, at

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[Any]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return 1, int(self._at.timestamp() * 1000)

    def error(self) -> None:
        return None


class Topics:
    """Offsets per topic, as a log would give them."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def messages(self, events: Iterable[CanonicalEvent], at: datetime = ev.T0) -> list[FakeMessage]:
        out = []
        for event in events:
            record = to_kafka(event)
            offset = self.next.get(record.topic, 0)
            self.next[record.topic] = offset + 1
            out.append(FakeMessage(record.topic, offset, record.value, record.headers, at))
        return out

    def raw(self, topic: str, value: bytes) -> FakeMessage:
        offset = self.next.get(topic, 0)
        self.next[topic] = offset + 1
        return FakeMessage(topic, offset, value, [], ev.T0)


class FakeTx:
    def __init__(self, db: dict[str, Any], store: FakeStore) -> None:
        self.db = db
        self.store = store

    def controls(self, partners: Iterable[str]) -> dict[str, Controls]:
        table = self.db["controls"]
        for partner in partners:
            table.setdefault(partner, Controls())
        return {p: table[p] for p in sorted(set(partners))}

    def processed(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        done: set[uuid.UUID] = self.db["processed"]
        return set(ids) & done

    def emitted(self, keys: Iterable[str]) -> set[tuple[str, str, str]]:
        wanted = set(keys)
        return {
            (d.partner_id, d.doc_type, d.business_key)
            for d in self._docs()
            if d.business_key in wanted
        }

    def _docs(self) -> list[Document]:
        return [doc for doc, _ in self.db["documents"].values()]

    def items(self) -> dict[str, Item]:
        return {
            key: Item(value["gtin"], value["base_uom"])
            for (kind, key), value in self.db["state"].items()
            if kind == "item"
        }

    def stock(self, positions_schema: str) -> list[StockRow] | None:
        return self.store.stock

    def write(self, planned: Planned, offsets: Mapping[tuple[str, int], int]) -> None:
        for row, value in planned.state.items():
            if value is None:
                self.db["state"].pop(row, None)
            else:
                self.db["state"][row] = orjson.loads(orjson.dumps(value))
        for doc in planned.documents:
            key = (doc.partner_id, doc.control.interchange)
            assert key not in self.db["documents"], f"ISA13 {key} used twice"
            unique = (doc.partner_id, doc.doc_type, doc.business_key)
            assert unique not in {(d.partner_id, d.doc_type, d.business_key) for d in self._docs()}
            self.db["documents"][key] = (doc, "pending")
        self.db["rejects"].extend(planned.rejects)
        self.db["processed"].update(c.event.event_id for c in planned.processed)
        self.db["controls"].update(planned.controls)
        self.db["offsets"].update(offsets)


class FakeStore:
    def __init__(self) -> None:
        self.db: dict[str, Any] = {
            "offsets": {}, "processed": set(), "controls": {}, "documents": {}, "rejects": [],
            "state": {},
        }  # fmt: skip
        self.stock: list[StockRow] | None = None
        self.fail_write = False

    def ensure_schema(self) -> None:
        pass

    def lock(self) -> None:
        pass

    def load(self, state: State) -> dict[tuple[str, int], int]:
        for (kind, key), value in self.db["state"].items():
            state.load(kind, key, value)
        return dict(self.db["offsets"])

    @contextmanager
    def transaction(self) -> Iterator[FakeTx]:
        work = copy.deepcopy(self.db)
        tx = FakeTx(work, self)
        if self.fail_write:
            raise RuntimeError("the database went away")
        yield tx
        self.db = work  # committed only if the block did not raise

    def pending(self) -> list[PendingFile]:
        return [
            PendingFile(p, i, doc.file_name, doc.content)
            for (p, i), (doc, status) in sorted(self.db["documents"].items())
            if status == "pending"
        ]

    def mark_written(self, files: Iterable[PendingFile]) -> None:
        for f in files:
            doc, _ = self.db["documents"][(f.partner_id, f.interchange)]
            self.db["documents"][(f.partner_id, f.interchange)] = (doc, "written")

    # what the tests ask

    def documents(self) -> list[tuple[str, str, int, str]]:
        return [
            (doc.partner_id, doc.doc_type, doc.control.interchange, status)
            for doc, status in sorted(
                self.db["documents"].values(),
                key=lambda ds: (ds[0].partner_id, ds[0].control.interchange),
            )
        ]


def stage(
    store: FakeStore, tmp_path: Path, profiles: Mapping[str, PartnerProfile] = PARTNERS
) -> Stage:
    settings = EdiSettings().model_copy(update={"outbox_dir": tmp_path})
    made = Stage(settings, store, profiles, clock=lambda: NOW)  # type: ignore[arg-type]
    made.start()
    return made


def handle(s: Stage, messages: Sequence[FakeMessage], progress: datetime | None = None) -> Planned:
    return s.handle(messages, {}, lambda: progress)  # type: ignore[arg-type]


def files(tmp_path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tmp_path)): p.read_bytes()
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file()
    }


def acme_order(n: int = 1) -> list[CanonicalEvent]:
    order = ev.shipped_order(order=f"00020-SO-{n}", shipment=f"MB{n:07d}")
    return [*order.lines, *order.picks, order.dispatched]


# --- the batch, then the outbox --------------------------------------------------------------


def test_a_batch_commits_its_document_and_offsets_then_writes_the_file(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    handle(s, topics.messages(acme_order()))
    assert store.documents() == [("acme-retail", "856", 1, "written")]
    ((name, content),) = files(tmp_path).items()
    assert name == "acme-retail/acme-retail-856-000000001.x12"
    oracle.parse(content)
    # two lines and three picks, one dispatch
    assert store.db["offsets"] == {("scv.order.v1", 0): 5, ("scv.shipment.v1", 0): 1}
    assert store.db["controls"]["acme-retail"] == Controls(2, 2)
    assert s.stats.documents == {"856": 1}


def test_a_crash_between_commit_and_rename_rewrites_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    real = outbox.write

    def crash(*_: Any) -> Path:
        raise OutboxError("killed between the commit and the rename")

    monkeypatch.setattr(edi.outbox, "write", crash)
    messages = topics.messages(acme_order())
    with pytest.raises(OutboxError):
        handle(s, messages)
    assert store.documents() == [("acme-retail", "856", 1, "pending")]
    assert files(tmp_path) == {}
    monkeypatch.setattr(edi.outbox, "write", real)
    restarted = stage(store, tmp_path)  # start() writes what is pending
    assert store.documents() == [("acme-retail", "856", 1, "written")]
    (content,) = files(tmp_path).values()
    assert content == store.db["documents"][("acme-retail", 1)][0].content
    # The same records delivered again (a replay upstream) build nothing new.
    handle(restarted, messages)
    assert store.documents() == [("acme-retail", "856", 1, "written")]
    assert restarted.stats.duplicates == len(messages)


def test_a_rename_already_done_is_done_again_with_the_same_bytes(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    handle(s, topics.messages(acme_order()))
    before = files(tmp_path)
    # killed after the rename, before the status: the document is still pending
    for key, (doc, _) in list(store.db["documents"].items()):
        store.db["documents"][key] = (doc, "pending")
    stage(store, tmp_path)
    assert files(tmp_path) == before
    assert store.documents() == [("acme-retail", "856", 1, "written")]


def test_a_crash_inside_the_transaction_leaves_nothing_and_the_retry_takes_the_same_numbers(
    tmp_path: Path,
) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    messages = topics.messages(acme_order())
    store.fail_write = True
    with pytest.raises(RuntimeError):
        handle(s, messages)
    assert store.db["offsets"] == {}
    assert store.documents() == []
    store.fail_write = False
    restarted = stage(store, tmp_path)  # the process died: its memory with it
    handle(restarted, messages)  # read again from the stored offsets
    assert store.documents() == [("acme-retail", "856", 1, "written")]
    assert list(files(tmp_path)) == ["acme-retail/acme-retail-856-000000001.x12"]


def test_a_held_dispatch_survives_a_restart(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    order = ev.shipped_order()
    s = stage(store, tmp_path)
    handle(s, topics.messages([*order.lines, order.dispatched]), progress=EPOCH)
    assert store.documents() == []
    assert any(kind == "held" for kind, _ in store.db["state"])
    restarted = stage(store, tmp_path)
    assert len(restarted.state.held) == 1
    handle(restarted, topics.messages(order.picks), progress=None)
    assert store.documents() == [("acme-retail", "856", 1, "written")]
    assert not any(kind in ("held", "order") for kind, _ in store.db["state"])


def test_controls_stay_contiguous_across_restarts_and_rejects(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    for n in range(1, 5):
        events = acme_order(n)
        if n == 2:  # a line without a GTIN: ACME requires one
            events[0] = ev.placed("1.000", 24, gtin=None, order=f"00020-SO-{n}")
        handle(stage(store, tmp_path), topics.messages(events))
    assert [d[2] for d in store.documents()] == [1, 2, 3]
    assert [r.reason for r in store.db["rejects"]] == ["missing_gtin"]
    names = sorted(files(tmp_path))
    assert names == [f"acme-retail/acme-retail-856-00000000{i}.x12" for i in (1, 2, 3)]


def test_an_unreadable_record_is_rejected_and_read_past(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    handle(s, [topics.raw("scv.shipment.v1", b"{oops")])
    (reject,) = store.db["rejects"]
    assert reject.reason == "malformed_json"
    assert store.db["offsets"] == {("scv.shipment.v1", 0): 1}


# --- 846 -------------------------------------------------------------------------------------

STOCK = [
    StockRow("30001", "FISH-3003-ICE", Decimal(40), Decimal(4), Decimal(0), Decimal(36)),
    StockRow("20001", "BOLT-1001-RED", Decimal(9), Decimal(0), Decimal(0), Decimal(9)),
]


def test_the_scheduled_846_goes_once_per_slot(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    handle(s, topics.messages([ev.item("FISH-3003-ICE"), ev.item("BOLT-1001-RED")]))
    store.stock = STOCK
    outcomes = s.advise_due()
    assert [type(o).__name__ for o in outcomes] == ["Document", "Document"]
    assert s.advise_due() == []  # the same slots
    assert stage(store, tmp_path).advise_due() == []  # and after a restart
    assert store.documents() == [
        ("acme-retail", "846", 1, "written"),
        ("northwind-depositor", "846", 1, "written"),
    ]
    assert len(files(tmp_path)) == 2


def test_a_scheduled_846_without_the_views_table_is_a_reject_once_per_slot(tmp_path: Path) -> None:
    store = FakeStore()
    s = stage(store, tmp_path)
    outcomes = s.advise_due()
    assert [(o.reason, o.partner_id) for o in outcomes if isinstance(o, Reject)] == [
        ("positions_unavailable", "acme-retail"),
        ("positions_unavailable", "northwind-depositor"),
    ]
    assert s.advise_due() == []
    assert len(store.db["rejects"]) == 2
    assert store.db["controls"] == {"acme-retail": Controls(), "northwind-depositor": Controls()}


def test_an_846_on_demand_takes_the_next_numbers(tmp_path: Path) -> None:
    store, topics = FakeStore(), Topics()
    s = stage(store, tmp_path)
    items = [ev.item("FISH-3003-ICE"), ev.item("BOLT-1001-RED")]
    handle(s, topics.messages([*items, *acme_order()]))
    store.stock = STOCK
    settings = s.settings
    outcome = emit_846(settings, store, PARTNERS, "acme-retail", clock=lambda: NOW)  # type: ignore[arg-type]
    assert isinstance(outcome, Document)
    assert outcome.control.interchange == 2  # after the run's 856
    past = NOW - timedelta(hours=1)
    replayed = emit_846(
        settings, store, PARTNERS, "northwind-depositor", as_of=past, stock=STOCK[:1],  # type: ignore[arg-type]
        clock=lambda: NOW,
    )  # fmt: skip
    assert isinstance(replayed, Document)
    dtm = oracle.records(oracle.parse(replayed.content).sets[0], "DTM")[0]
    assert dtm["DTM02"] == past.strftime("%Y%m%d")
    assert store.documents()[-1][3] == "written"
    assert sorted(files(tmp_path)) == [
        "acme-retail/acme-retail-846-000000002.x12",
        "acme-retail/acme-retail-856-000000001.x12",
        "northwind-depositor/northwind-depositor-846-000000001.x12",
    ]


def test_an_846_on_demand_refuses_user_mistakes_in_one_line(tmp_path: Path) -> None:
    store = FakeStore()
    settings = EdiSettings().model_copy(update={"outbox_dir": tmp_path})
    with pytest.raises(UsageError, match=r"no partner 'acme' \(partners: acme-retail, "):
        emit_846(settings, store, PARTNERS, "acme")  # type: ignore[arg-type]
    no_846 = {"x": PARTNERS["acme-retail"].model_copy(update={"documents": frozenset({"856"})})}
    with pytest.raises(UsageError, match="x does not receive the 846"):
        emit_846(settings, store, no_846, "x")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="in the future"):
        parse_time("2999-01-01T00:00:00Z", not_after=NOW)
    with pytest.raises(UsageError, match="not an ISO time"):
        parse_time("yesterday")
    assert parse_time("2026-03-02T14:05:09") == ev.T0


# --- the outbox ------------------------------------------------------------------------------


def test_an_outbox_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    path = outbox.write(tmp_path, "p", "p-856-000000001.x12", b"ISA...")
    assert path.read_bytes() == b"ISA..."
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["p-856-000000001.x12"]
    outbox.write(tmp_path, "p", "p-856-000000001.x12", b"ISA...")  # again: the same file
    assert path.read_bytes() == b"ISA..."


def test_temporary_files_of_dead_processes_are_cleaned(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    dead = tmp_path / "p" / ".tmp-p-856-000000001.x12.999999999"
    live = tmp_path / "p" / f".tmp-p-856-000000002.x12.{os.getpid()}"
    dead.write_bytes(b"half")
    live.write_bytes(b"being written")
    assert outbox.clean(tmp_path) == [dead]
    assert live.exists()
    assert outbox.clean(tmp_path / "nowhere") == []


def test_an_outbox_that_cannot_be_written_says_where(tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"a file where the partner's folder goes")
    with pytest.raises(OutboxError, match="cannot write"):
        outbox.write(tmp_path, "p", "x.x12", b"x")


# --- the stream's progress -------------------------------------------------------------------


class _Position:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


class _Consumer:
    def __init__(self, positions: dict[tuple[str, int], int]) -> None:
        self.positions = positions

    def position(self, parts: list[Any]) -> list[_Position]:
        return [
            _Position(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)])
            for tp in parts
        ]


def test_a_partition_at_its_end_counts_as_read_through_only_at_its_high_watermark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = stage(FakeStore(), tmp_path)
    a, b, c = ("t", 0), ("t", 1), ("t", 2)
    highs, lows = {a: 10, b: 10, c: 7}, {a: 0, b: 0, c: 7}
    monkeypatch.setattr(kafkaio.consume, "high_watermarks", lambda _b, parts, **_: highs)
    monkeypatch.setattr(kafkaio.consume, "low_watermarks", lambda _b, parts, **_: lows)
    last = {a: ev.T0, b: ev.T0 + timedelta(seconds=1)}
    # a: at its high watermark; b: end-of-partition at the last stable offset, in front of an
    # open transaction (8 < 10); c: nothing delivered since the start, the log begins at 7.
    consumer = _Consumer({a: 10, b: 8, c: -1001})
    progress = s._progress(consumer, {a, b, c}, {a, b, c}, last)  # type: ignore[arg-type]
    assert progress == ev.T0 + timedelta(seconds=1)  # b holds it back
    consumer.positions[b] = 10
    assert s._progress(consumer, {a, b, c}, {a, b, c}, last) is None  # type: ignore[arg-type]
    assert s._progress(consumer, {a, b, c}, {a, c}, last) == last[b]  # type: ignore[arg-type]
