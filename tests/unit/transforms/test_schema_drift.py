"""Schema drift on real envelopes recorded after ``scv sim drift``.

``scv connectors record --after-drift`` kept, per source, envelopes of the changed table that
carry the added column (``<system>/_drift/<table>/blank.json``: the column at its default;
``value.json``: a value written into it) and MariaDB's ``ALTER TABLE`` schema-change event
(``wms/_schema_change/alter.json``). The column check in ``transforms.pipeline.process`` must
quarantine a value it does not know (``unexpected_column``) and let a blank one through to the
mapper, as if the column were not there.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from transforms.envelope import ChangeEvent, parse_change_event
from transforms.mapping import Output, mapper
from transforms.pipeline import Emit, Quarantine, RawMessage, process
from transforms.reference import Reference, StateStore, StateUpdate
from transforms.registry import MapperRegistry

from .test_mappers import FIXTURES, REGISTRY, raw_fixture

#: (system, table, the column ``scv sim drift`` adds): legacy_sim.runner.DRIFTS.
DRIFTS = [("erp", "f4211", "sdurrf"), ("wms", "ORDERS", "UserDefine03")]
REF = Reference(StateStore(), {})


def _drifted(system: str, table: str, kind: str) -> RawMessage:
    return raw_fixture(FIXTURES / system / "_drift" / table / f"{kind}.json")


def _without(raw: RawMessage, column: str) -> RawMessage:
    """The same envelope as the connector emitted it before the column existed."""
    assert raw.value is not None
    payload = orjson.loads(raw.value)
    for image in ("before", "after"):
        if payload[image] is not None:
            del payload[image][column]
    return RawMessage(raw.topic, raw.partition, raw.offset, raw.key, orjson.dumps(payload))


def _columns(system: str, table: str) -> frozenset[str]:
    (entry,) = [m for m in REGISTRY if (m.system, m.table) == (system, table)]
    return entry.columns


@pytest.mark.parametrize(("system", "table", "column"), DRIFTS)
def test_recorded_envelopes_carry_the_new_column(system: str, table: str, column: str) -> None:
    assert column not in _columns(system, table)  # else the drift tests test nothing
    blank = parse_change_event(_drifted(system, table, "blank").value)
    valued = parse_change_event(_drifted(system, table, "value").value)
    assert blank is not None
    assert valued is not None
    assert column in blank.row.columns()
    assert blank.row.text(column) is None  # NOT NULL DEFAULT ' ': blank, i.e. no value
    assert valued.row.text(column)


@pytest.mark.parametrize(("system", "table", "column"), DRIFTS)
def test_a_value_in_the_new_column_is_quarantined_as_unexpected(
    system: str, table: str, column: str
) -> None:
    outcome = process(_drifted(system, table, "value"), REGISTRY, REF)
    assert isinstance(outcome, Quarantine)
    assert (outcome.stage, outcome.reason) == ("decode", "unexpected_column")
    assert repr(column) in (outcome.detail or "")


@pytest.mark.parametrize(("system", "table", "column"), DRIFTS)
def test_a_blank_new_column_changes_nothing(system: str, table: str, column: str) -> None:
    raw = _drifted(system, table, "blank")
    # The recorder's sample row: whatever the mapper makes of it, the new column adds nothing.
    assert process(raw, REGISTRY, REF) == process(_without(raw, column), REGISTRY, REF)


@pytest.mark.parametrize(("system", "table", "column"), DRIFTS)
def test_a_blank_new_column_reaches_the_mapper(system: str, table: str, column: str) -> None:
    @mapper(system, table, columns=_columns(system, table))
    def seen(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
        yield StateUpdate("seen", {"op": change.op.value})

    registry = MapperRegistry([seen])

    outcome = process(_drifted(system, table, "blank"), registry, REF)
    assert isinstance(outcome, Emit), outcome
    assert [u.key for u in outcome.state] == ["seen"]
    assert isinstance(process(_drifted(system, table, "value"), registry, REF), Quarantine)


def test_the_recorded_alter_event_describes_the_new_column() -> None:
    record = orjson.loads((FIXTURES / "wms" / "_schema_change" / "alter.json").read_bytes())
    assert record["topic"] == "wms"
    event = orjson.loads(record["value"])
    assert event["ddl"].startswith("ALTER TABLE ORDERS ADD COLUMN UserDefine03 VARCHAR(30)")
    assert event["databaseName"] == "wmwhse1"
    (change,) = event["tableChanges"]
    assert (change["type"], change["id"]) == ("ALTER", '"wmwhse1"."ORDERS"')
    added = change["table"]["columns"][-1]
    assert (added["name"], added["typeName"], added["length"]) == ("UserDefine03", "VARCHAR", 30)
    assert not added["optional"]


def test_a_schema_change_event_on_a_change_topic_is_quarantined_not_dropped() -> None:
    outcome = process(
        raw_fixture(FIXTURES / "wms" / "_schema_change" / "alter.json"), REGISTRY, REF
    )
    assert isinstance(outcome, Quarantine)
    assert (outcome.stage, outcome.reason) == ("decode", "missing_field")
