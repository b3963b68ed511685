"""``decode_state_record``: a bad record of the state topic is refused with a reason, never raised.

The runner rebuilds the reference store from the compacted state topic at every start; a record
that did not parse (``orjson.loads`` raised) stopped every start of every instance.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.errors import InvalidStateRecord
from transforms.reference import Reference, StateStore, decode_state_record

from .test_mappers import FIXTURES


def _written_state() -> list[tuple[bytes, bytes | None]]:
    """Every state record the recorded fixtures' golden outcomes write, as the runner does."""
    records = []
    for path in sorted(FIXTURES.glob("*/*/*.expected.json")):
        for update in orjson.loads(path.read_bytes()).get("state", []):
            value = update["value"]
            records.append((update["key"].encode(), None if value is None else orjson.dumps(value)))
    return records


WRITTEN = _written_state()


def test_every_record_the_mappers_write_loads() -> None:
    assert {key.split(b"|")[0] for key, _ in WRITTEN} >= {
        b"item",
        b"sku",
        b"uom",
        b"wmsorder",
        b"loc",
        b"probe",
        b"order_lines",
    }
    for key, value in WRITTEN:
        loaded = decode_state_record(key, value)
        assert loaded == (key.decode(), None if value is None else orjson.loads(value))


def test_a_record_without_a_key_is_nothing_to_load() -> None:
    assert decode_state_record(None, b"{}") is None


def test_a_null_value_is_a_deletion() -> None:
    assert decode_state_record(b"item|60002", None) == ("item|60002", None)


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        (b"item|1", b"{not json", "not JSON"),
        (b"item|1", b"[" * 5000 + b"]" * 5000, "not JSON"),
        (b"item|1", b'"a string"', "not a JSON object"),
        (b"item|1", b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", b"{}", "not UTF-8"),
        (b"item|1", b'{"item_id": "A"}', "lacks"),
        (b"item|1", b'{"item_id": 1, "base_uom": "EA"}', "lacks"),
        (b"sku|A", b"{}", "lacks"),
        (b"uom|1|CA|EA", b'{"factor": "12"}', "lacks"),
        (b"uom|1||CA|EA", b'{"factor": "twelve"}', "lacks"),
        (b"uom|1||CA|EA", b'{"factor": "NaN"}', "lacks"),
        (b"uom|1||CA|EA", b'{"factor": null}', "lacks"),
        (b"uom|1||CA|EA", b'{"factor": "1E+999999"}', "lacks"),
        (b"wmsorder|1", b'{"site_id": "20001"}', "lacks"),
        (b"probe|P1", b'{"recent": [[1, "x"]]}', "lacks"),
        (b"probe|P1", b'{"recent": "no"}', "lacks"),
        (b"order_lines|O", b'{"lines": [["1.000"]]}', "lacks"),
    ],
)
def test_a_record_no_lookup_could_use_is_refused(key: bytes, value: bytes, why: str) -> None:
    with pytest.raises(InvalidStateRecord) as refused:
        decode_state_record(key, value)
    assert refused.value.reason == "invalid_state_record"
    assert why in refused.value.detail


def test_an_unknown_prefix_is_loaded_as_it_is() -> None:
    """A key a newer mapper writes: an older runner keeps it (no lookup of its reads it)."""
    assert decode_state_record(b"new|x", b'{"a": 1}') == ("new|x", {"a": 1})


def test_what_loads_is_what_the_lookups_read() -> None:
    store = StateStore()
    for key, value in WRITTEN:
        loaded = decode_state_record(key, value)
        assert loaded is not None
        store.load(*loaded)
    ref = Reference(store, {})
    assert ref.item("60002").base_uom
    assert ref.conversions("60002")


def _decoded_or_refused(key: bytes | None, value: bytes | None) -> None:
    """Loaded as a dict (or a deletion), or refused with its reason: nothing else."""
    try:
        loaded = decode_state_record(key, value)
    except InvalidStateRecord as refused:
        reason = refused.reason
    else:
        reason = None
    assert reason in (None, "invalid_state_record")
    if reason is None and loaded is not None:
        assert loaded[1] is None or isinstance(loaded[1], dict)


@settings(max_examples=300)
@given(key=st.none() | st.binary(max_size=40), value=st.none() | st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_a_refusal(
    key: bytes | None, value: bytes | None
) -> None:
    _decoded_or_refused(key, value)


@settings(max_examples=300)
@given(
    prefix=st.sampled_from(["item", "sku", "uom", "wmsorder", "loc", "probe", "order_lines"]),
    rest=st.text(max_size=20),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    ),
)
def test_random_json_never_raises_anything_but_a_refusal(
    prefix: str, rest: str, value: object
) -> None:
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        return  # an integer orjson cannot write
    _decoded_or_refused(f"{prefix}|{rest}".encode(), encoded)
