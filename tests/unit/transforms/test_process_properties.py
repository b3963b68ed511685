"""Property: whatever a recorded envelope's cells or bytes become, ``process`` returns a verdict.

For every registered mapper, its envelopes recorded from the real stack get random cell
values (text, huge and negative integers, floats, digit strings of thousands of digits,
exponent strings, nulls, nested lists and objects, JSON nested far past any recursion limit)
and random envelope damage (fields replaced, bytes cut or flipped, random bytes). ``process``
must return ``Emit``, ``Quarantine`` or ``Skip`` and raise nothing; an ``Emit`` must
serialize (``serialize`` returns records or a quarantine, and raises nothing either). An
exception escaping here is a runner in a crash loop.

Derandomized with a bounded number of examples (``tests/conftest.py``'s profile), so CI sees
the same examples every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.mapping import Mapper
from transforms.pipeline import (
    Emit,
    Quarantine,
    RawMessage,
    Serialized,
    Skip,
    process,
    route,
    serialize,
)
from transforms.quality import QualityGate

from .test_mappers import FIXTURES, REGISTRY, raw_fixture, reference

REF = reference()  # process only reads it: one for every example
GATE = QualityGate.load()
MAPPERS = sorted(REGISTRY, key=lambda m: (m.system, m.table))


def _recorded(entry: Mapper) -> list[tuple[RawMessage, dict[str, Any]]]:
    """The mapper's recorded envelopes (tombstones have no cells to change)."""
    found = []
    for path in sorted((FIXTURES / entry.system / entry.table).glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        raw = raw_fixture(path)
        if raw.value is not None:
            found.append((raw, orjson.loads(raw.value)))
    assert found, f"no recorded envelopes for {entry.system}.{entry.table}"
    return found


RECORDED = {(m.system, m.table): _recorded(m) for m in MAPPERS}


@dataclass(frozen=True)
class JsonText:
    """A cell written into the envelope as this JSON text (what no JSON library writes).

    Not a ``str`` subclass: hypothesis's shrinker keys its choices by exact type."""

    text: str


_digits = st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n)
_exponent = st.builds(
    lambda mantissa, exponent: f"{mantissa}E{exponent:+d}",
    st.sampled_from(["1", "-1", "9.99", "0", "12000"]),
    st.integers(min_value=-100_000, max_value=100_000),
)
_numeric_text = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    _digits,
    _digits.map(lambda d: "-" + d),
    _digits.map(lambda d: "0." + d),
    _exponent,
    st.sampled_from(["NaN", "Infinity", "-0", " ", "", "1_000", "²", "١٢٣", "0x10", "1e"]),
)
_nested_text = st.integers(min_value=1, max_value=120_000).map(
    lambda depth: JsonText("[" * depth + "]" * depth)
)
_json_numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400).map(lambda n: JsonText(str(n))),
    st.sampled_from(["1e400", "-1e400", "1E+40", "123456789012345678901234567890"]).map(JsonText),
)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=30),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    _numeric_text,
)
CELLS = st.one_of(
    _leaf,
    _nested_text,
    _json_numbers,
    st.recursive(
        _leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=6,
    ),
)


def _dumps(payload: dict[str, Any]) -> bytes:
    """``payload`` as JSON, ``JsonText`` cells written verbatim."""
    texts: dict[bytes, bytes] = {}

    def marked(value: Any) -> Any:
        if isinstance(value, JsonText):
            marker = f"\x00json{len(texts)}\x00"
            texts[orjson.dumps(marker)] = value.text.encode()
            return marker
        if isinstance(value, dict):
            return {k: marked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [marked(v) for v in value]
        return value

    document = orjson.dumps(marked(payload))
    for marker, text in texts.items():
        document = document.replace(marker, text)
    return document


def _verdict(raw: RawMessage) -> None:
    outcome = process(raw, REGISTRY, REF)
    assert isinstance(outcome, Emit | Quarantine | Skip), outcome
    if isinstance(outcome, Quarantine):
        assert outcome.reason
        assert outcome.detail
        # Stronger than "nothing escapes": the decoders name every input seen so far with a
        # precise reason; a mapper_exception here is an input they do not foresee yet.
        assert outcome.reason != "mapper_exception", outcome.detail
    if isinstance(outcome, Emit):
        assert isinstance(serialize(outcome), Serialized | Quarantine)
        # The quality gate is the next step of the runner: it must judge, not raise, too.
        ((_, gated),) = route([(raw, outcome)], GATE)
        assert isinstance(gated, Emit | Quarantine), gated


def _ids(entry: Mapper) -> str:
    return f"{entry.system}.{entry.table}"


@pytest.mark.parametrize("entry", MAPPERS, ids=_ids)
@settings(max_examples=60)
@given(data=st.data())
def test_random_cell_values_always_get_a_verdict(entry: Mapper, data: st.DataObject) -> None:
    raw, payload = data.draw(st.sampled_from(RECORDED[(entry.system, entry.table)]))
    images = [name for name in ("after", "before") if isinstance(payload.get(name), dict)]
    image = data.draw(st.sampled_from(images))
    changed = {**payload, image: dict(payload[image])}
    columns = sorted(changed[image])
    for column in data.draw(st.lists(st.sampled_from(columns), min_size=1, max_size=3)):
        changed[image][column] = data.draw(CELLS)
    _verdict(raw._replace(value=_dumps(changed)))


ENVELOPE_FIELDS = st.sampled_from(
    [
        ("op",),
        ("before",),
        ("after",),
        ("source",),
        ("transaction",),
        ("ts_ms",),
        ("source", "ts_ms"),
        ("source", "lsn"),
        ("source", "table"),
        ("source", "name"),
        ("source", "schema"),
        ("source", "db"),
        ("source", "snapshot"),
        ("source", "file"),
        ("source", "pos"),
        ("source", "txId"),
        ("transaction", "id"),
    ]
)


@pytest.mark.parametrize("entry", MAPPERS, ids=_ids)
@settings(max_examples=30)
@given(data=st.data())
def test_random_envelope_fields_always_get_a_verdict(entry: Mapper, data: st.DataObject) -> None:
    raw, payload = data.draw(st.sampled_from(RECORDED[(entry.system, entry.table)]))
    changed = orjson.loads(orjson.dumps(payload))
    for path in data.draw(st.lists(ENVELOPE_FIELDS, min_size=1, max_size=3)):
        target = changed
        for step in path[:-1]:
            if not isinstance(target.get(step), dict):
                break
            target = target[step]
        else:
            if data.draw(st.booleans()):
                target[path[-1]] = data.draw(CELLS)
            else:
                target.pop(path[-1], None)
    _verdict(raw._replace(value=_dumps(changed)))


@pytest.mark.parametrize("entry", MAPPERS, ids=_ids)
@settings(max_examples=30)
@given(data=st.data())
def test_garbled_bytes_always_get_a_verdict(entry: Mapper, data: st.DataObject) -> None:
    raw, _ = data.draw(st.sampled_from(RECORDED[(entry.system, entry.table)]))
    value = raw.value or b""
    damage = data.draw(st.sampled_from(["cut", "flip", "random", "splice"]))
    if damage == "cut":
        value = value[: data.draw(st.integers(min_value=0, max_value=len(value)))]
    elif damage == "flip":
        garbled = bytearray(value)
        for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
            at = data.draw(st.integers(min_value=0, max_value=len(garbled) - 1))
            garbled[at] = data.draw(st.integers(min_value=0, max_value=255))
        value = bytes(garbled)
    elif damage == "random":
        value = data.draw(st.binary(max_size=300))
    else:
        at = data.draw(st.integers(min_value=0, max_value=len(value)))
        value = value[:at] + data.draw(st.binary(min_size=1, max_size=20)) + value[at:]
    _verdict(raw._replace(value=value))


def test_every_mapper_has_recorded_envelopes() -> None:
    assert len(RECORDED) == len(REGISTRY)
    assert all(isinstance(path, Path) for path in [FIXTURES])
