"""Debezium change-event envelopes → typed ``ChangeEvent``: the one place that reads them.

The connectors use the JSON converter without schemas, so a value is::

    {"before": {...} | null, "after": {...} | null, "source": {...}, "op": "c|u|d|r|t",
     "ts_ms": 1700000000000, "transaction": {"id": ..., "total_order": ...} | null}

``parse_change_event`` turns those bytes into a ``ChangeEvent`` whose row images are ``Row``
objects with typed accessors; no other module indexes ``payload["after"]``. A tombstone (null
value, written after a delete for log compaction) parses to ``None``. Anything malformed raises
``InvalidChangeEvent`` and is quarantined by the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, KeysView, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Any

import orjson

from transforms.errors import InvalidChangeEvent, MappingError

Scalar = str | int | float | bool | None

#: A whole number as ``int()`` reads it (a subset of what ``Decimal`` reads, same value).
_WHOLE = re.compile(r"\s*[+-]?\d+\s*")


class Op(StrEnum):
    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"  # a snapshot read
    TRUNCATE = "t"


@dataclass(frozen=True, slots=True)
class TableRef:
    """A captured legacy table: ``system`` is the Debezium topic prefix (``erp`` / ``wms``)."""

    system: str
    namespace: str
    table: str

    def __str__(self) -> str:
        return f"{self.system}.{self.namespace}.{self.table}"


class Row(Mapping[str, Scalar]):
    """One row image with typed accessors; a wrong or missing value is a ``MappingError``.

    Debezium (``decimal.handling.mode=string``) renders NUMERIC/DECIMAL as strings and integer
    columns as JSON numbers; the accessors accept both where a number is expected.
    """

    __slots__ = ("_data", "_where")

    def __init__(self, data: Mapping[str, Scalar], where: str) -> None:
        self._data = data
        self._where = where

    def __getitem__(self, key: str) -> Scalar:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    # ``Mapping.get`` goes through ``__getitem__`` and an exception; this is the hot path of
    # change detection (every business column of every update).
    def get(self, key: str, default: Scalar = None) -> Scalar:  # type: ignore[override]
        return self._data.get(key, default)

    def columns(self) -> KeysView[str]:
        """The row's column names (``row.columns() - known`` is a set difference in C)."""
        return self._data.keys()

    def __repr__(self) -> str:
        return f"Row({dict(self._data)!r})"

    def _get(self, column: str) -> Scalar:
        try:
            return self._data[column]
        except KeyError:
            raise MappingError("missing_field", f"{self._where}: no column {column!r}") from None

    def _mistyped(self, column: str, value: object, expected: str) -> MappingError:
        return MappingError(
            "mistyped_field", f"{self._where}: {column}={value!r} is not {expected}"
        )

    def raw_text(self, column: str) -> str | None:
        """The string exactly as stored (padding kept)."""
        value = self._get(column)
        if value is None or isinstance(value, str):
            return value
        raise self._mistyped(column, value, "a string")

    def text(self, column: str) -> str | None:
        """Trailing padding removed; an empty or blank string means None."""
        value = self.raw_text(column)
        if value is None:
            return None
        return value.rstrip() or None

    def required_text(self, column: str) -> str:
        value = self.text(column)
        if value is None:
            raise MappingError("missing_value", f"{self._where}: {column} is empty")
        return value

    def decimal(self, column: str) -> Decimal | None:
        value = self._get(column)
        if value is None:
            return None
        if isinstance(value, bool | float):
            # A float here means the converter is not decimal.handling.mode=string: refuse
            # rather than carry a rounded quantity.
            raise self._mistyped(column, value, "an exact number")
        if isinstance(value, int):
            return Decimal(value)
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise self._mistyped(column, value, "a number") from None
        if not number.is_finite():
            raise self._mistyped(column, value, "a finite number")
        return number

    def required_decimal(self, column: str) -> Decimal:
        value = self.decimal(column)
        if value is None:
            raise MappingError("missing_value", f"{self._where}: {column} is null")
        return value

    def integer(self, column: str) -> int | None:
        cell = self._get(column)
        # The common cases: a JSON number (integer column) or a whole NUMERIC as a string
        # (``int`` accepts a subset of what ``Decimal`` does, with the same value).
        if type(cell) is int:
            return cell
        if type(cell) is str and _WHOLE.fullmatch(cell):
            return int(cell)
        value = self.decimal(column)  # "12.00", "1.5", garbage: the exact path decides
        if value is None:
            return None
        if value != value.to_integral_value():
            raise self._mistyped(column, value, "an integer")
        return int(value)

    def required_integer(self, column: str) -> int:
        value = self.integer(column)
        if value is None:
            raise MappingError("missing_value", f"{self._where}: {column} is null")
        return value


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One committed row change of one legacy table, as Debezium captured it."""

    op: Op
    table: TableRef
    before: Row | None
    after: Row | None
    source_ts_ms: int
    #: Unique, replay-stable position of the change in the source log: ``lsn:<n>`` for
    #: PostgreSQL, ``binlog:<file>:<pos>:<row>`` for MariaDB. Only unique together with the
    #: row's primary key (a PK-changing update and a snapshot share one position).
    position: str
    snapshot: bool
    tx_id: str | None

    @property
    def row(self) -> Row:
        """The after-image, or the before-image of a delete."""
        image = self.after if self.after is not None else self.before
        if image is None:
            raise MappingError("missing_field", f"{self.table}: change has no row image")
        return image


def _require(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if type(value) is kind:
        return value  # the fast path: exactly the JSON type (so never a bool for an int)
    if key not in obj:
        raise InvalidChangeEvent("missing_field", f"{where}: no {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidChangeEvent("mistyped_field", f"{where}: {key}={value!r}")
    return value


def _row(value: object, where: str) -> Row | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidChangeEvent("mistyped_field", f"{where} is not an object")
    # One C-level pass over the cell types; the per-cell loop only runs to name the culprit.
    kinds = set(map(type, value.values()))
    if dict in kinds or list in kinds:
        column = next(c for c, cell in value.items() if isinstance(cell, dict | list))
        raise InvalidChangeEvent(
            "mistyped_field", f"{where}.{column} is a nested value (converter with schemas?)"
        )
    return Row(value, where)


def _position(source: Mapping[str, Any], where: str) -> str:
    if "lsn" in source and source["lsn"] is not None:
        lsn = _require(source, "lsn", int, where)
        return f"lsn:{lsn}"
    if "file" in source and "pos" in source:
        file = _require(source, "file", str, where)
        pos = _require(source, "pos", int, where)
        row = source.get("row") or 0
        return f"binlog:{file}:{pos}:{row}"
    sequence = source.get("sequence")
    if isinstance(sequence, str) and source.get("snapshot") not in (None, False, "false"):
        # An incremental snapshot read has no LSN of its own: the chunk's position in the
        # log (``sequence``) plus the read time identify it; with the row key it is unique.
        return f"snapshot:{sequence}:{_require(source, 'ts_ms', int, where)}"
    raise InvalidChangeEvent("missing_field", f"{where}: no lsn nor binlog file/pos")


_OPS = {op.value: op for op in Op}


@dataclass(frozen=True, slots=True)
class _Labels:
    """A table's ``TableRef`` and the places named in its error messages, made once per table
    rather than once per message."""

    table: TableRef
    where: str
    before: str
    after: str
    source: str


@cache
def _labels(system: str, namespace: str, name: str) -> _Labels:
    table = TableRef(system, namespace, name)
    where = str(table)
    return _Labels(table, where, f"{where}.before", f"{where}.after", f"{where}.source")


def parse_change_event(value: bytes | None) -> ChangeEvent | None:
    """Bytes of a Debezium record value → ``ChangeEvent``; ``None`` for a tombstone.

    >>> parse_change_event(None) is None
    True
    """
    if value is None:
        return None
    try:
        payload = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidChangeEvent("malformed_json", str(exc)) from None
    if not isinstance(payload, dict):
        raise InvalidChangeEvent("malformed_envelope", "value is not a JSON object")
    if "payload" in payload and "schema" in payload:
        raise InvalidChangeEvent(
            "malformed_envelope", "schema+payload envelope: the converter must not embed schemas"
        )
    source = _require(payload, "source", dict, "envelope")
    system = _require(source, "name", str, "source")
    # PostgreSQL names the schema ``schema``; MySQL/MariaDB name the database ``db``.
    namespace = source.get("schema") or source.get("db")
    if not isinstance(namespace, str):
        raise InvalidChangeEvent("missing_field", "source: no schema/db")
    labels = _labels(system, namespace, _require(source, "table", str, "source"))
    where = labels.where
    op = _OPS.get(_require(payload, "op", str, where))
    if op is None:
        raise InvalidChangeEvent("mistyped_field", f"{where}: op={payload['op']!r}")
    before = _row(payload.get("before"), labels.before)
    after = _row(payload.get("after"), labels.after)
    if op in (Op.CREATE, Op.READ, Op.UPDATE) and after is None:
        raise InvalidChangeEvent("missing_field", f"{where}: op {op} without after-image")
    if op is Op.DELETE and before is None:
        raise InvalidChangeEvent("missing_field", f"{where}: delete without before-image")
    ts_ms = _require(source, "ts_ms", int, labels.source)
    snapshot_flag = source.get("snapshot")
    # "true", "first", "last", "first_in_data_collection", "incremental"…: anything but
    # "false"/absent means the row was read by a snapshot, not streamed.
    snapshot = snapshot_flag not in (None, False, "false")
    transaction = payload.get("transaction")
    tx_id: str | None = None
    if isinstance(transaction, dict) and isinstance(transaction.get("id"), str):
        tx_id = transaction["id"]
    elif "txId" in source and source["txId"] is not None:
        tx_id = str(source["txId"])
    return ChangeEvent(
        op=op,
        table=labels.table,
        before=before,
        after=after,
        source_ts_ms=ts_ms,
        position=_position(source, labels.source),
        snapshot=snapshot,
        tx_id=tx_id,
    )
