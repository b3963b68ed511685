"""Row accessors: the fast paths give exactly what the exact (Decimal) path gives."""

from __future__ import annotations

from decimal import Decimal

import pytest

from transforms.envelope import Row, Scalar
from transforms.errors import MappingError


def _row(**cells: Scalar) -> Row:
    return Row(cells, "erp.proddta.f4211.after")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [(60055, 60055), ("60055", 60055), ("  42 ", 42), ("-7", -7), ("12.00", 12), ("0", 0)],
)
def test_integer_reads_numbers_and_whole_numeric_strings(cell: Scalar, expected: int) -> None:
    assert _row(n=cell).integer("n") == expected
    assert _row(n=cell).decimal("n") == Decimal(expected)


@pytest.mark.parametrize("cell", ["1.5", "abc", "", True, 2.0, "NaN"])
def test_integer_refuses_what_is_not_an_exact_whole_number(cell: Scalar) -> None:
    with pytest.raises(MappingError):
        _row(n=cell).integer("n")


def test_integer_of_null_is_none_and_required_refuses_it() -> None:
    assert _row(n=None).integer("n") is None
    with pytest.raises(MappingError, match="n is null"):
        _row(n=None).required_integer("n")


def test_missing_column_is_a_mapping_error_but_get_gives_the_default() -> None:
    row = _row(a="x")
    with pytest.raises(MappingError, match="no column 'b'"):
        row.integer("b")
    assert row.get("b") is None
    assert row.get("b", "d") == "d"
    assert "a" in row
    assert "b" not in row
    assert row.columns() - {"a"} == set()
