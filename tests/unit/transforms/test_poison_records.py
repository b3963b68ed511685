"""Legal legacy values that used to stop the runner (issue 15, part 2): each is quarantined.

Every case takes an envelope recorded from the real stack (``tests/fixtures/debezium``), checks
that it maps as recorded, then replaces one cell (or one envelope field) with a value the
legacy column accepts but no decoder foresaw, and asserts the precise quarantine reason. An
exception escaping ``process`` here would be a crash loop in the runner: it stops before it
commits, and every restart reads the same record again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from transforms.envelope import ChangeEvent
from transforms.errors import QuarantineLimitExceeded
from transforms.mappers.erp_f41021 import COLUMNS as F41021_COLUMNS
from transforms.mapping import Output, mapper
from transforms.pipeline import Emit, Outcome, Quarantine, QuarantineLimit, RawMessage, process
from transforms.registry import MapperRegistry

from .test_mappers import FIXTURES, REGISTRY, raw_fixture, reference

BALANCE = FIXTURES / "erp" / "f41021" / "c.json"
#: Cells that make the recorded (empty) balance row an opening balance of a known item.
STOCKED = {"liitm": "60002", "limcu": "       20001", "lipqoh": "12000", "liupmj": "126010"}
ORDER_LINE = FIXTURES / "erp" / "f4211" / "c-case.json"
READING = FIXTURES / "wms" / "ZZ_TEMP_LOG" / "c-reading.json"
SHIPPED = FIXTURES / "wms" / "ORDERS" / "u-shipped.json"


def _payload(path: Path) -> tuple[RawMessage, dict[str, Any]]:
    raw = raw_fixture(path)
    assert raw.value is not None
    return raw, orjson.loads(raw.value)


def _replace(raw: RawMessage, value: bytes) -> RawMessage:
    return raw._replace(value=value)


def with_cells(path: Path, **cells: object) -> RawMessage:
    """The recorded envelope with cells of its after-image replaced."""
    raw, payload = _payload(path)
    payload["after"].update(cells)
    return _replace(raw, orjson.dumps(payload))


def with_json_cell(path: Path, column: str, text: bytes, **cells: object) -> RawMessage:
    """The recorded envelope with ``column`` set to the JSON ``text`` as written (a number
    no JSON library would write, such as an integer of 5,000 digits)."""
    raw = with_cells(path, **cells, **{column: "__cell__"})
    assert raw.value is not None
    return _replace(raw, raw.value.replace(b'"__cell__"', text))


def with_source(path: Path, **fields: object) -> RawMessage:
    raw, payload = _payload(path)
    payload["source"].update(fields)
    return _replace(raw, orjson.dumps(payload))


def _run(raw: RawMessage, path: Path) -> Outcome:
    return process(raw, REGISTRY, reference(leave_out=path))


def _quarantined(raw: RawMessage, path: Path) -> Quarantine:
    outcome = _run(raw, path)
    assert isinstance(outcome, Quarantine), outcome
    return outcome


@pytest.mark.parametrize(
    ("path", "cells"),
    [(BALANCE, STOCKED), (ORDER_LINE, {}), (READING, {}), (SHIPPED, {})],
    ids=["f41021", "f4211", "ZZ_TEMP_LOG", "ORDERS"],
)
def test_the_untouched_envelopes_emit(path: Path, cells: dict[str, object]) -> None:
    """The baseline: each case below turns an emitting record into a quarantined one."""
    assert isinstance(_run(with_cells(path, **cells), path), Emit)


# -- ERP times and numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("litday", ["-12345", "-1", "246000", "1000000"])
def test_an_impossible_hhmmss_time_is_invalid_time(litday: str) -> None:
    """NUMERIC(6,0) holds -12345 (it raised ValueError: hour must be in 0..23) and -1 (it
    became 00:00:01)."""
    q = _quarantined(with_cells(BALANCE, **{**STOCKED, "litday": litday}), BALANCE)
    assert (q.stage, q.reason) == ("map", "invalid_time")
    assert litday in q.detail


@pytest.mark.parametrize(
    "quantity", ["1E+40", "-1E+40", "9" * 5000, "1" + "0" * 28, "0." + "1" * 40]
)
def test_a_quantity_beyond_28_digits_is_out_of_range(quantity: str) -> None:
    """``1E+40`` raised decimal.InvalidOperation in ``tidy``; 5,000 digits too."""
    q = _quarantined(with_cells(BALANCE, **{**STOCKED, "lipqoh": quantity}), BALANCE)
    assert (q.stage, q.reason) == ("map", "out_of_range")
    assert "lipqoh" in q.detail
    assert len(q.detail) < 300  # the 5,000 digits are cut in the reason


def test_a_28_digit_quantity_still_maps() -> None:
    outcome = _run(with_cells(BALANCE, **{**STOCKED, "lipqoh": "9" * 28}), BALANCE)
    assert isinstance(outcome, Emit), outcome


@pytest.mark.parametrize("itm", ["9" * 5000, "-" + "9" * 4400, " " + "1" * 29])
def test_an_integer_string_beyond_28_digits_is_out_of_range(itm: str) -> None:
    """``int()`` refuses more than 4,300 digits with a ValueError (it escaped before)."""
    q = _quarantined(with_cells(BALANCE, **{**STOCKED, "liitm": itm}), BALANCE)
    assert (q.stage, q.reason) == ("map", "out_of_range")
    assert "liitm" in q.detail


@pytest.mark.parametrize("digits", [b"1" * 30, b"-" + b"9" * 400])
def test_a_wide_json_integer_is_out_of_range(digits: bytes) -> None:
    """msgspec reads JSON integers up to its own limit: the accessors bound them."""
    q = _quarantined(with_json_cell(ORDER_LINE, "sduorg", digits), ORDER_LINE)
    assert (q.stage, q.reason) == ("map", "out_of_range")


@pytest.mark.parametrize("digits", [b"-" + b"9" * 5000, b"1e400"])
def test_a_json_number_no_decoder_holds_is_mistyped(digits: bytes) -> None:
    """5,000 digits, or a float past 1e308: msgspec's ValidationError escaped before."""
    q = _quarantined(with_json_cell(ORDER_LINE, "sduorg", digits), ORDER_LINE)
    assert (q.stage, q.reason) == ("decode", "mistyped_field")
    assert "out of range" in q.detail


def test_an_order_quantity_beyond_28_digits_is_out_of_range() -> None:
    q = _quarantined(with_cells(ORDER_LINE, sduorg="1E+40"), ORDER_LINE)
    assert (q.stage, q.reason) == ("map", "out_of_range")


# -- epochs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("epoch", [10**15, -(10**15), 253402300800, 2**62])
def test_a_probe_epoch_far_out_of_range_is_out_of_range(epoch: int) -> None:
    q = _quarantined(with_cells(READING, ReadingEpoch=epoch), READING)
    assert (q.stage, q.reason) == ("map", "out_of_range")
    assert str(epoch) in q.detail


@pytest.mark.parametrize(
    "edit_ms",
    [
        2**62,
        -(2**62),
        # 9999-12-31 23:59:59, a legal MariaDB DATETIME: no UTC time west of Greenwich.
        int(
            (
                datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
            ).total_seconds()
            * 1000
        ),
    ],
)
def test_a_wms_datetime_out_of_range_is_out_of_range(edit_ms: int) -> None:
    q = _quarantined(with_cells(SHIPPED, EditDate=edit_ms), SHIPPED)
    assert (q.stage, q.reason) == ("map", "out_of_range")


def test_a_source_commit_time_out_of_range_is_out_of_range() -> None:
    q = _quarantined(with_source(READING, ts_ms=2**62), READING)
    assert (q.stage, q.reason) == ("map", "out_of_range")


# -- the envelope itself -----------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("where", ["after", "before", "source", "extra"])
def test_json_nested_100000_deep_is_malformed_json(where: str) -> None:
    """msgspec recursed into it (RecursionError) to skip or keep it raw."""
    raw, payload = _payload(SHIPPED)
    marker = b'"__deep__"'
    if where in ("after", "before"):
        payload[where]["StorerKey"] = "__deep__"
    elif where == "source":
        payload["source"]["extra"] = "__deep__"
    else:
        payload["extra"] = "__deep__"
    value = orjson.dumps(payload).replace(marker, _nested(100_000))
    q = _quarantined(_replace(raw, value), SHIPPED)
    assert (q.stage, q.reason) == ("decode", "malformed_json")


def test_a_nested_value_100000_deep_at_the_top_is_not_an_envelope() -> None:
    raw, _ = _payload(SHIPPED)
    q = _quarantined(_replace(raw, _nested(100_000)), SHIPPED)
    assert (q.stage, q.reason) == ("decode", "malformed_envelope")


# -- the safety net: whatever else a mapper raises ---------------------------------------------


def _raising(exc: BaseException) -> MapperRegistry:
    @mapper("erp", "f41021", columns=F41021_COLUMNS)
    def broken(change: ChangeEvent, ref: Any) -> Iterator[Output]:
        raise exc
        yield  # a generator, like the real mappers

    return MapperRegistry([broken])


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("hour must be in 0..23"),
        KeyError("item_id"),
        RecursionError("deep"),
        ZeroDivisionError(),
    ],
)
def test_any_other_mapper_exception_is_quarantined_with_its_type(exc: Exception) -> None:
    q = process(with_cells(BALANCE, **STOCKED), _raising(exc), reference())
    assert isinstance(q, Quarantine), q
    assert (q.stage, q.reason) == ("map", "mapper_exception")
    assert q.detail == f"mapper_exception: {type(exc).__name__}: {exc}"


def test_a_long_exception_message_is_cut() -> None:
    q = process(with_cells(BALANCE, **STOCKED), _raising(ValueError("x" * 10_000)), reference())
    assert isinstance(q, Quarantine)
    assert q.detail.startswith("mapper_exception: ValueError: xxx")
    assert len(q.detail) < 600


class _BrokenLookup(MapperRegistry):
    def lookup(self, table: Any) -> Any:
        raise RuntimeError("registry broken")


def test_an_exception_before_the_mapper_is_quarantined_at_stage_decode() -> None:
    q = process(with_cells(BALANCE, **STOCKED), _BrokenLookup(), reference())
    assert isinstance(q, Quarantine)
    assert (q.stage, q.reason, q.detail) == (
        "decode",
        "mapper_exception",
        "mapper_exception: RuntimeError: registry broken",
    )


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3), MemoryError()])
def test_process_level_exceptions_still_propagate(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        process(with_cells(BALANCE, **STOCKED), _raising(exc), reference())


def test_mapper_exceptions_count_toward_the_quarantine_limit() -> None:
    """A bug that hits every row still stops the stream (instead of quarantining it all)."""
    limit = QuarantineLimit(max_consecutive=3, max_ratio=1.0, window=100)
    registry = _raising(ValueError("bug"))
    outcomes = [process(with_cells(BALANCE, **STOCKED), registry, reference()) for _ in range(3)]
    limit.record_all(outcomes[:2])
    with pytest.raises(QuarantineLimitExceeded, match="mapper_exception"):
        limit.record_all(outcomes[2:])


def test_invalid_utf8_in_a_row_image_is_malformed_json() -> None:
    """The envelope keeps row images raw: their strings' UTF-8 is checked when decoded."""
    raw = with_cells(SHIPPED, StorerKey="__bad__")
    assert raw.value is not None
    q = _quarantined(_replace(raw, raw.value.replace(b"__bad__", b"\xff\xfe")), SHIPPED)
    assert (q.stage, q.reason) == ("decode", "malformed_json")
