"""The X12 reader: separators from the ISA, the envelope checked as a translator checks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.errors import X12ReadError
from edi.x12read import element, read_interchanges

GOLDEN = Path(__file__).parents[2] / "fixtures" / "edi"


def test_it_reads_the_golden_files_with_their_own_separators() -> None:
    (acme,) = read_interchanges((GOLDEN / "846.x12").read_bytes())
    assert (acme.sender, acme.receiver, acme.control) == ("SCVDISTRIB", "007654321", "000000042")
    assert (acme.element, acme.component) == ("*", ">")
    assert [s.code for s in acme.sets] == ["846", "846"]
    assert acme.sets[0].segments[0] == ("BIA", "00", "DD", "ACME-846-000042", "20260302", "0805")
    (northwind,) = read_interchanges((GOLDEN / "945.x12").read_bytes())
    assert (northwind.element, northwind.component) == ("|", "^")
    w12 = next(s for s in northwind.sets[0].segments if s[0] == "W12")
    assert (element(w12, 8), element(w12, 22), element(w12, 30)) == (
        "BOLT-1001-RED",
        "00614141000012",
        "",
    )


def test_it_reads_several_interchanges_of_one_file() -> None:
    data = (GOLDEN / "856.x12").read_bytes() * 2
    assert [i.control for i in read_interchanges(data)] == ["000000042", "000000042"]


def _broken(old: str, new: str) -> bytes:
    text = (GOLDEN / "856.x12").read_text()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello", "does not start with an ISA"),
        (_broken("SE*26*0001", "SE*25*0001"), "SE01 says 25 segments, the set has 26"),
        (_broken("SE*26*0001", "SE*26*0002"), "SE02 0002 does not match ST02 0001"),
        (_broken("GE*1*42", "GE*2*42"), "GE01 says 2 sets"),
        (_broken("GE*1*42", "GE*1*43"), "GE02 43 does not match GS06 42"),
        (_broken("IEA*1*000000042", "IEA*1*000000043"), "IEA02 000000043 does not match"),
        (_broken("IEA*1*000000042~\n", ""), "has no IEA"),
        (_broken("ST*856*0001~\n", ""), "outside a transaction set"),
        (b"ISA*00*" + "é".encode(), "not ASCII"),
    ],
)
def test_a_broken_envelope_is_one_line_saying_where(data: bytes, message: str) -> None:
    with pytest.raises(X12ReadError, match=message):
        read_interchanges(data)
