"""The hot-path evaluator: a gating suite compiled into plain-Python checks over columns.

GX spends ~5 ms of bookkeeping per expectation per call; the gate has a budget of 5 ms per
1,000 events for every suite together. So the suite JSON is compiled once into one function
per expectation, ``columns -> failing row indices``, that reproduces GX's pandas semantics on
an object-dtype frame (the parity test runs both on the same batches):

- map expectations ignore nulls; only ``not_be_null`` flags them;
- ``match_regex`` is ``re.search`` on ``str(value)``, not a full match (suites anchor ``^…$``);
- ``be_unique`` / ``compound_columns_to_be_unique`` flag every member of a duplicate group;
  the compound check skips rows whose key columns are all null;
- ``between`` is inclusive unless ``strict_min``/``strict_max``; string bounds are dates
  (``YYYY-MM-DD``) or ISO datetimes, as GX's pydantic model coerces them;
- ``mostly`` never changes which rows fail, only the expectation's batch-level ``success``.

Pure Python beats pandas here: micro-batches are split across 16 event types, so most calls
see tens to hundreds of rows, where pandas' per-operation overhead dominates (measured by
``scv quality bench``). An expectation type without a compiled check is refused at load time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from expectations.errors import SuiteError, UnsupportedExpectation
from expectations.gtin import is_valid_gtin
from expectations.suites import ExpectationSpec, Suite

Columns = Mapping[str, Sequence[object]]


class Batch:
    """The columns of one call, with each column's non-null ``(row, value)`` pairs computed
    once and shared by every map check on that column."""

    __slots__ = ("_pairs", "columns", "n")

    def __init__(self, columns: Columns, n: int) -> None:
        self.columns = columns
        self.n = n
        self._pairs: dict[str, list[tuple[int, Any]]] = {}

    def pairs(self, column: str) -> list[tuple[int, Any]]:
        pairs = self._pairs.get(column)
        if pairs is None:
            # Inlined _null: this runs once per value of every column on the hot path.
            pairs = [(i, v) for i, v in enumerate(self.columns[column]) if v is not None and v == v]
            self._pairs[column] = pairs
        return pairs


Check = Callable[[Batch], list[int]]

_DATE: Final = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
#: GX (pandas) type names → the Python types a value must be an instance of.
_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "str": (str,),
    "string_types": (str,),
    "int": (int,),
    "long": (int,),
    "int64": (int,),
    "float": (float,),
    "float64": (float,),
    "bool": (bool,),
}


def _null(value: object) -> bool:
    # ``v != v`` is true only for float/Decimal NaN, which pandas counts as null too.
    return value is None or value != value


def _bound(value: object) -> object:
    """A between bound as GX's pydantic model coerces it (float, date or datetime)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"boolean bound {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if _DATE.match(value):
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    raise ValueError(f"bound {value!r} is not a number, date or datetime")


def _kw(
    spec: ExpectationSpec, suite: Suite, required: Sequence[str], optional: Sequence[str]
) -> None:
    allowed = {*required, *optional, "mostly", "result_format", "catch_exceptions"}
    missing = [k for k in required if k not in spec.kwargs]
    unknown = [k for k in spec.kwargs if k not in allowed]
    if missing or unknown:
        raise SuiteError(
            f"suite {suite.name}: {spec.rule_id} ({spec.type}): "
            + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}")
        )


def _not_null(column: str) -> Check:
    def check(batch: Batch) -> list[int]:
        pairs = batch.pairs(column)
        if len(pairs) == batch.n:
            return []
        present = {i for i, _ in pairs}
        return [i for i in range(batch.n) if i not in present]

    return check


def _map(column: str, ok: Callable[[Any], bool]) -> Check:
    """A map check: ``ok`` is asked about non-null values only."""

    def check(batch: Batch) -> list[int]:
        return [i for i, v in batch.pairs(column) if not ok(v)]

    return check


def _between(column: str, kwargs: Mapping[str, Any]) -> Check:
    low, high = _bound(kwargs.get("min_value")), _bound(kwargs.get("max_value"))
    if low is None and high is None:
        raise ValueError("min_value and max_value cannot both be None")
    strict_low, strict_high = bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max"))
    # GX coerces numeric bounds to float. A float converted to Decimal is the same number, and
    # Python compares int/float/Decimal exactly, so the verdicts are identical; comparing a
    # Decimal with a Decimal is several times faster than with a float.
    lo = Decimal(low) if isinstance(low, float) else low
    hi = Decimal(high) if isinstance(high, float) else high
    if lo is not None and hi is not None and not strict_low and not strict_high:
        return lambda b: [i for i, v in b.pairs(column) if not lo <= v <= hi]

    def ok(v: Any) -> bool:
        if lo is not None and (v <= lo if strict_low else v < lo):
            return False
        return not (hi is not None and (v >= hi if strict_high else v > hi))

    return _map(column, ok)


def _unique(column: str) -> Check:
    def check(batch: Batch) -> list[int]:
        pairs = batch.pairs(column)
        counts = Counter(v for _, v in pairs)
        if len(counts) == len(pairs):
            return []
        return [i for i, v in pairs if counts[v] > 1]

    return check


def _compound_unique(columns: Sequence[str]) -> Check:
    def check(batch: Batch) -> list[int]:
        keys = list(zip(*(batch.columns[c] for c in columns), strict=True))
        counts = Counter(keys)
        if len(counts) == len(keys):
            return []  # no two rows alike (rows of all nulls included)
        # GX's default ignore_row_if="all_values_are_missing".
        return [i for i, key in enumerate(keys) if counts[key] > 1 and not all(map(_null, key))]

    return check


def _compile_one(spec: ExpectationSpec, suite: Suite) -> Check:
    kw = spec.kwargs
    column = str(kw.get("column", ""))
    match spec.type:
        case "expect_column_values_to_not_be_null":
            _kw(spec, suite, ["column"], [])
            return _not_null(column)
        case "expect_column_values_to_be_in_set" | "expect_column_values_to_not_be_in_set":
            _kw(spec, suite, ["column", "value_set"], [])
            allowed = frozenset(kw["value_set"])
            if spec.type.endswith("_not_be_in_set"):
                return lambda b: [i for i, v in b.pairs(column) if v in allowed]
            return lambda b: [i for i, v in b.pairs(column) if v not in allowed]
        case "expect_column_values_to_be_between":
            _kw(spec, suite, ["column"], ["min_value", "max_value", "strict_min", "strict_max"])
            return _between(column, kw)
        case "expect_column_values_to_match_regex" | "expect_column_values_to_not_match_regex":
            _kw(spec, suite, ["column", "regex"], [])
            search = re.compile(str(kw["regex"])).search
            if spec.type.endswith("_not_match_regex"):
                return lambda b: [
                    i for i, v in b.pairs(column) if search(v if type(v) is str else str(v))
                ]
            return lambda b: [
                i for i, v in b.pairs(column) if not search(v if type(v) is str else str(v))
            ]
        case "expect_column_values_to_be_of_type" | "expect_column_values_to_be_in_type_list":
            names = [kw["type_"]] if "type_" in kw else list(kw.get("type_list") or [])
            _kw(spec, suite, ["column"], ["type_", "type_list"])
            unknown = [t for t in names if t not in _TYPES]
            if unknown or not names:
                raise SuiteError(f"suite {suite.name}: {spec.rule_id}: unsupported types {unknown}")
            types = tuple(t for name in names for t in _TYPES[name])
            return lambda b: [i for i, v in b.pairs(column) if not isinstance(v, types)]
        case "expect_column_values_to_be_unique":
            _kw(spec, suite, ["column"], [])
            return _unique(column)
        case "expect_compound_columns_to_be_unique":
            _kw(spec, suite, ["column_list"], [])
            return _compound_unique([str(c) for c in kw["column_list"]])
        case "expect_column_values_to_be_valid_gtin":
            _kw(spec, suite, ["column"], [])
            return _map(column, is_valid_gtin)
    raise UnsupportedExpectation(suite.name, spec.type)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One expectation over one batch: which rows failed and GX's batch-level verdict."""

    spec: ExpectationSpec
    unexpected: tuple[int, ...]
    element_count: int
    success: bool


@dataclass(frozen=True, slots=True)
class CompiledExpectation:
    spec: ExpectationSpec
    check: Check

    def run(self, columns: Columns, n: int) -> CheckResult:
        failed = self.check(Batch(columns, n))
        spec = self.spec
        # GX's denominator: every row for not_be_null, the non-null rows otherwise.
        if spec.type == "expect_column_values_to_not_be_null":
            considered = n
        elif spec.type == "expect_compound_columns_to_be_unique":
            cols = [columns[c] for c in spec.columns]
            considered = sum(1 for i in range(n) if not all(_null(c[i]) for c in cols))
        else:
            considered = sum(1 for v in columns[spec.columns[0]] if not _null(v))
        success = considered == 0 or (considered - len(failed)) / considered >= spec.mostly
        return CheckResult(spec, tuple(failed), n, success)


@dataclass(frozen=True, slots=True)
class CompiledSuite:
    """A gating suite ready for the hot path."""

    suite: Suite
    checks: tuple[CompiledExpectation, ...]
    columns: tuple[str, ...]

    def evaluate(self, columns: Columns, n: int) -> list[CheckResult]:
        """Every expectation's result, in suite order."""
        return [c.run(columns, n) for c in self.checks]

    def failures(self, columns: Columns, n: int) -> dict[int, list[ExpectationSpec]]:
        """Row → the expectations it failed, in suite order (rows that passed are absent)."""
        rows: dict[int, list[ExpectationSpec]] = {}
        batch = Batch(columns, n)
        for compiled in self.checks:
            for i in compiled.check(batch):
                rows.setdefault(i, []).append(compiled.spec)
        return rows


def compile_suite(suite: Suite) -> CompiledSuite:
    """Compile every expectation, or refuse the suite naming the first unsupported one."""
    checks: list[CompiledExpectation] = []
    for spec in suite.expectations:
        try:
            check = _compile_one(spec, suite)
        except (ValueError, TypeError, re.error) as exc:
            raise SuiteError(f"suite {suite.name}: {spec.rule_id}: {exc}") from None
        checks.append(CompiledExpectation(spec, check))
    columns = tuple(dict.fromkeys(c for spec in suite.expectations for c in spec.columns))
    return CompiledSuite(suite, tuple(checks), columns)
