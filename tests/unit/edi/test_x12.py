"""The X12 writer: ISA fixed widths, control numbers, counts, separators, refused values."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from edi.errors import X12Error, X12ValueError
from edi.x12 import (
    ControlNumbers,
    Envelope,
    Separators,
    TransactionSet,
    number,
    seg,
    write_interchange,
)

from . import oracle

AT = datetime(2026, 3, 2, 8, 5)
ENVELOPE = Envelope(
    sender_qualifier="ZZ",
    sender_id="SENDER",
    receiver_qualifier="01",
    receiver_id="123456789",
    application_sender="SENDAPP",
    application_receiver="RECVAPP",
)


def _receipt(qty: str = "5", item: str = "ITEM-1") -> TransactionSet:
    return TransactionSet(
        "944",
        (
            seg("W17", "F", "20260302", "R1", "PO-1"),
            seg("N1", "WH", "Chicago DC", "91", "20001"),
            seg("W07", qty, "EA", None, "VN", item),
            seg("W14", qty),
        ),
    )


def test_the_isa_is_106_characters_with_padded_ids_and_a_nine_digit_control_number() -> None:
    data = write_interchange(
        ENVELOPE, [_receipt()], control=ControlNumbers(7, 8, 9), at=AT
    ).decode()
    isa = data.split("\n")[0]
    assert len(isa) == 106
    fields = isa[:-1].split("*")
    assert fields[6] == "SENDER         "
    assert fields[8] == "123456789      "
    assert fields[2] == fields[4] == " " * 10
    assert (fields[9], fields[10], fields[12], fields[13]) == (
        "260302",
        "0805",
        "00401",
        "000000007",
    )
    assert fields[16] == ">"
    assert data.rstrip("\n").endswith("IEA*1*000000007~")


def test_counts_and_control_numbers_check_with_an_independent_parser() -> None:
    sets = [_receipt("5"), _receipt("7", "ITEM-2"), _receipt("9", "ITEM-3")]
    data = write_interchange(ENVELOPE, sets, control=ControlNumbers(123, 45, 998), at=AT)
    parsed = oracle.parse(data)
    assert parsed.gs["GS06"] == parsed.ge["GE02"] == "45"
    assert parsed.ge["GE01"] == "3"
    assert parsed.iea["IEA01"] == "1"
    assert [s["ST02"] for s in parsed.sets] == ["0998", "0999", "1000"]
    for st in parsed.sets:
        (se,) = oracle.records(st, "SE")
        assert se["SE02"] == st["ST02"]
        assert int(se["SE01"]) == oracle.segment_count(st) == 6


def test_separators_come_from_the_envelope() -> None:
    envelope = replace(ENVELOPE, separators=Separators("|", "^", "\\", ""))
    data = write_interchange(envelope, [_receipt()], control=ControlNumbers(1, 1, 1), at=AT)
    text = data.decode()
    assert "\n" not in text
    assert text.startswith("ISA|00|")
    assert text[104:106] == "^\\"
    assert "GS|RE|SENDAPP|RECVAPP|20260302|0805|1|X|004010\\" in text


@pytest.mark.parametrize("value", ["A*B", "A~B", "A>B", "line\nbreak", "caf\u00e9"])
def test_a_value_that_would_break_the_file_is_refused(value: str) -> None:
    with pytest.raises(X12ValueError, match="W0705"):
        write_interchange(ENVELOPE, [_receipt(item=value)], control=ControlNumbers(1, 1, 1), at=AT)


def test_trailing_empty_elements_and_components_are_left_out() -> None:
    body = (seg("W07", "5", "EA", None, None, None), seg("QTY", "17", "5", ("EA", "", "")))
    data = write_interchange(
        ENVELOPE, [TransactionSet("944", body)], control=ControlNumbers(1, 1, 1), at=AT
    ).decode()
    assert "W07*5*EA~" in data
    assert "QTY*17*5*EA~" in data


@pytest.mark.parametrize(
    ("control", "match"),
    [
        (ControlNumbers(0, 1, 1), "ISA13"),
        (ControlNumbers(1_000_000_000, 1, 1), "ISA13"),
        (ControlNumbers(1, 0, 1), "GS06"),
        (ControlNumbers(1, 1, 999_999_999), "ST02"),
    ],
)
def test_control_numbers_out_of_range_are_refused(control: ControlNumbers, match: str) -> None:
    with pytest.raises(X12Error, match=match):
        write_interchange(ENVELOPE, [_receipt(), _receipt()], control=control, at=AT)


def test_an_interchange_holds_one_functional_group() -> None:
    other = TransactionSet("846", (seg("BIA", "00", "DD", "R", "20260302"),))
    with pytest.raises(X12Error, match="one functional group"):
        write_interchange(ENVELOPE, [_receipt(), other], control=ControlNumbers(1, 1, 1), at=AT)
    with pytest.raises(X12Error, match="at least one"):
        write_interchange(ENVELOPE, [], control=ControlNumbers(1, 1, 1), at=AT)


def test_an_isa_id_longer_than_15_is_refused() -> None:
    envelope = replace(ENVELOPE, sender_id="S" * 16)
    with pytest.raises(X12Error, match="ISA06"):
        write_interchange(envelope, [_receipt()], control=ControlNumbers(1, 1, 1), at=AT)


@pytest.mark.parametrize(
    "separators", [("*", "*", "~"), ("A", ">", "~"), (" ", ">", "~"), ("**", ">", "~")]
)
def test_unusable_separators_are_refused(separators: tuple[str, str, str]) -> None:
    with pytest.raises(X12Error, match="separator"):
        Separators(*separators)


def test_numbers_are_decimal_text_without_exponent_or_trailing_zeros() -> None:
    assert number(Decimal("12.500")) == "12.5"
    assert number(Decimal("1E+3")) == "1000"
    assert number(Decimal("-0.0")) == "0"
    assert number(Decimal("-2.50")) == "-2.5"
    with pytest.raises(X12ValueError):
        number(Decimal("NaN"))
