"""Debezium's replays after a Connect crash are recognised by source position.

The ``_replay`` fixtures are windows of real raw partitions, recorded from the local stack
after ``kill -9`` of the Connect worker during ``scv sim run --rate 50``: the connectors came
back and wrote the changes since their last flushed offset a second time. Each window holds
the originals, the replayed copies and the changes after them. The primary-key change is a
real one too (an ``UPDATE`` of ``RECEIPTDETAIL.ReceiptLineNumber``): Debezium writes it as a
delete and a create at one binlog position.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from confluent_kafka import TopicPartition

from transforms.envelope import parse_envelope
from transforms.pipeline import REPLAYED, RawMessage, Skip, process
from transforms.reference import Reference, StateStore
from transforms.registry import default_registry
from transforms.replays import ReplayGuard

FIXTURES = Path(__file__).parents[2] / "fixtures" / "debezium"
KILLS = [
    FIXTURES / "erp" / "_replay" / "f4211-connect-kill.json",
    FIXTURES / "wms" / "_replay" / "PICKDETAIL-connect-kill.json",
]
PK_CHANGE = FIXTURES / "wms" / "_replay" / "RECEIPTDETAIL-pk-change.json"


def _raws(path: Path) -> list[RawMessage]:
    return [
        RawMessage(
            r["topic"],
            r["partition"],
            r["offset"],
            None if r["key"] is None else r["key"].encode(),
            None if r["value"] is None else r["value"].encode(),
        )
        for r in orjson.loads(path.read_bytes())
    ]


def _identity(raw: RawMessage) -> tuple[bytes | None, bytes]:
    """A change as Debezium wrote it, without the envelope's own (processing) timestamp."""
    document = orjson.loads(raw.value or b"null")
    return raw.key, orjson.dumps({k: document[k] for k in ("op", "before", "after", "source")})


def _admitted(guard: ReplayGuard, raws: list[RawMessage]) -> list[RawMessage]:
    out = []
    for raw in raws:
        envelope = parse_envelope(raw.value)
        if envelope is not None and guard.admit(raw.topic, raw.partition, raw.key, envelope):
            out.append(raw)
    return out


@pytest.mark.parametrize("path", KILLS, ids=lambda p: p.stem)
def test_every_replayed_copy_is_refused_and_every_original_passes(path: Path) -> None:
    raws = [r for r in _raws(path) if r.value is not None]
    seen: set[tuple[bytes | None, bytes]] = set()
    copies = 0
    for raw in raws:
        copies += _identity(raw) in seen
        seen.add(_identity(raw))
    assert copies >= 5, "the recording must hold replayed copies"

    admitted = _admitted(ReplayGuard(), raws)

    assert len(admitted) == len(raws) - copies
    assert len({_identity(r) for r in admitted}) == len(admitted) == len(seen)


@pytest.mark.parametrize("path", KILLS, ids=lambda p: p.stem)
def test_the_mark_travels_with_the_committed_offset(path: Path) -> None:
    """A new owner (restart, rebalance, aborted batch) takes the mark from the offset's
    metadata and still refuses the copies that come after it."""
    raws = [r for r in _raws(path) if r.value is not None]
    copies_from = next(
        i for i, r in enumerate(raws) if _identity(r) in {_identity(x) for x in raws[:i]}
    )
    first = ReplayGuard()
    before = _admitted(first, raws[:copies_from])
    (stamped,) = first.stamp([TopicPartition(raws[0].topic, raws[0].partition, 1)])
    assert ReplayGuard().stamp([stamped])[0].metadata is None  # no mark, no metadata
    assert stamped.metadata is not None
    assert len(stamped.metadata) < 4096

    second = ReplayGuard()
    second.restore([stamped])
    after = _admitted(second, raws[copies_from:])

    assert len(before) + len(after) == len({_identity(r) for r in raws})


def test_a_primary_key_change_is_two_new_changes_at_one_position() -> None:
    delete_and_create = [r._replace(partition=0) for r in _raws(PK_CHANGE)]
    ops = {orjson.loads(r.value or b"{}")["op"] for r in delete_and_create}
    assert ops == {"c", "d"}
    positions = {parse_envelope(r.value).order for r in delete_and_create}  # type: ignore[union-attr]
    assert len(positions) == 1

    guard = ReplayGuard()
    assert _admitted(guard, delete_and_create) == delete_and_create
    # Replayed, both are refused, also by an owner that only has the committed mark.
    assert _admitted(guard, delete_and_create) == []
    restored = ReplayGuard()
    restored.restore(guard.stamp([TopicPartition(delete_and_create[0].topic, 0, 2)]))
    assert _admitted(restored, delete_and_create) == []


def test_a_held_change_is_forgotten_so_it_is_read_again() -> None:
    raws = [r for r in _raws(KILLS[0]) if r.value is not None]
    guard = ReplayGuard()
    _admitted(guard, raws[:3])
    envelope = parse_envelope(raws[3].value)
    assert envelope is not None
    assert guard.admit(raws[3].topic, raws[3].partition, raws[3].key, envelope)
    guard.undo(raws[3].topic, raws[3].partition)
    assert guard.admit(raws[3].topic, raws[3].partition, raws[3].key, envelope)
    assert not guard.admit(raws[3].topic, raws[3].partition, raws[3].key, envelope)


def test_snapshot_reads_always_pass() -> None:
    read = FIXTURES / "erp" / "f4211" / "r.json"
    record = orjson.loads(read.read_bytes())
    raw = RawMessage(record["topic"], 0, 0, record["key"].encode(), record["value"].encode())
    envelope = parse_envelope(raw.value)
    assert envelope is not None
    assert envelope.order is None
    guard = ReplayGuard()
    assert guard.admit(raw.topic, 0, raw.key, envelope)
    assert guard.admit(raw.topic, 0, raw.key, envelope)


def test_metadata_of_another_tool_is_no_mark() -> None:
    raws = [r for r in _raws(KILLS[0]) if r.value is not None]
    guard = ReplayGuard()
    guard.restore([TopicPartition(raws[0].topic, raws[0].partition, 5, metadata="not json")])
    assert len(_admitted(guard, raws[:3])) == 3


def test_process_skips_a_replay_as_replayed() -> None:
    raws = [r for r in _raws(KILLS[0]) if r.value is not None]
    registry = default_registry()
    reference = Reference(StateStore(), {})
    guard = ReplayGuard()
    outcomes = [process(raw, registry, reference, guard) for raw in raws]
    replayed = [o for o in outcomes if o is REPLAYED]
    identities = [_identity(r) for r in raws]
    assert len(replayed) == len(identities) - len(set(identities))
    assert all(isinstance(o, Skip) and o.reason == "replayed" for o in replayed)
