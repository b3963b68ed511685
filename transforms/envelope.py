"""Debezium change-event envelopes → typed ``ChangeEvent``: the one place that reads them.

The connectors use the JSON converter without schemas, so a value is::

    {"before": {...} | null, "after": {...} | null, "source": {...}, "op": "c|u|d|r|t",
     "ts_ms": 1700000000000, "transaction": {"id": ..., "total_order": ...} | null}

``parse_envelope`` reads the routing part (table, op, position, transaction) and keeps the row
images as JSON text; ``Envelope.change()`` decodes them into a ``ChangeEvent`` whose images are
``Row`` objects with typed accessors (``parse_change_event`` does both); no other module
indexes ``payload["after"]``. A tombstone (null
value, written after a delete for log compaction) parses to ``None``. Anything malformed raises
``InvalidChangeEvent`` and is quarantined by the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, KeysView, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

import msgspec
import orjson

from transforms.errors import InvalidChangeEvent, MappingError

Scalar = str | int | float | bool | None

#: A whole number as ``int()`` reads it (a subset of what ``Decimal`` reads, same value).
_WHOLE = re.compile(r"\s*[+-]?\d+\s*")

#: Numbers are accepted up to 28 significant digits and below 10**28 in magnitude: the
#: precision of the decimal context, beyond which the quirk arithmetic would round silently
#: or raise (``quantize``), and far beyond any legacy NUMERIC column (JDE: 15 digits).
MAX_DIGITS = 28
_INT_LIMIT = 10**MAX_DIGITS
_DECIMAL_LIMIT = Decimal(_INT_LIMIT)


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

    def pick(self, getter: Callable[[Mapping[str, Scalar]], Any]) -> Any:
        """``getter`` (an ``operator.itemgetter``) applied to the image: several cells in one C
        call; a missing column raises ``KeyError``."""
        return getter(self._data)

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
            "mistyped_field", f"{self._where}: {column}={_shown(value)} is not {expected}"
        )

    def _out_of_range(self, column: str, value: object) -> MappingError:
        return MappingError(
            "out_of_range",
            f"{self._where}: {column}={_shown(value)} exceeds {MAX_DIGITS} digits",
        )

    # The accessors below are the mappers' hot path: each first tries the common case (a
    # string or an integer is there) in one dict lookup, and only then the checked path.

    def raw_text(self, column: str) -> str | None:
        """The string exactly as stored (padding kept)."""
        value = self._data.get(column)
        if type(value) is str:
            return value
        value = self._get(column)  # null, missing or mistyped
        if value is None or isinstance(value, str):
            return value
        raise self._mistyped(column, value, "a string")

    def text(self, column: str) -> str | None:
        """Trailing padding removed; an empty or blank string means None."""
        value = self._data.get(column)
        if type(value) is str:
            return value.rstrip() or None
        value = self.raw_text(column)  # null, missing or mistyped
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
            if not -_INT_LIMIT < value < _INT_LIMIT:
                raise self._out_of_range(column, value)
            return Decimal(value)
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise self._mistyped(column, value, "a number") from None
        if not number.is_finite():
            raise self._mistyped(column, value, "a finite number")
        # "1E+40" or 5,000 digits: a value no legacy column holds, and past what the
        # arithmetic downstream keeps exact. (Only a long string can have too many digits.)
        if not -_DECIMAL_LIMIT < number < _DECIMAL_LIMIT or (
            len(value) > MAX_DIGITS and len(number.as_tuple().digits) > MAX_DIGITS
        ):
            raise self._out_of_range(column, value)
        return number

    def required_decimal(self, column: str) -> Decimal:
        value = self.decimal(column)
        if value is None:
            raise MappingError("missing_value", f"{self._where}: {column} is null")
        return value

    def integer(self, column: str) -> int | None:
        cell = self._data.get(column)  # missing: the exact path below names it
        # The common cases: a JSON number (integer column) or a whole NUMERIC as a string
        # (``int`` accepts a subset of what ``Decimal`` does, with the same value).
        if type(cell) is int:
            if -_INT_LIMIT < cell < _INT_LIMIT:
                return cell
            raise self._out_of_range(column, cell)
        # Short strings only: ``int`` refuses more than 4,300 digits (a ValueError), and the
        # exact path below bounds the value.
        if (
            type(cell) is str
            and len(cell) <= MAX_DIGITS
            and (cell.isdecimal() or _WHOLE.fullmatch(cell))
        ):
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


class ChangeEvent(NamedTuple):
    """One committed row change of one legacy table, as Debezium captured it.

    A ``NamedTuple`` rather than a frozen dataclass: one is built per consumed record, and a
    frozen dataclass sets each field through ``object.__setattr__`` (docs/benchmarks.md).
    """

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


class _Source(msgspec.Struct):
    """The envelope's ``source`` block: the fields scv reads (the rest is ignored)."""

    name: str
    table: str
    ts_ms: int
    schema: str | None = None  # PostgreSQL names the schema ``schema``...
    db: str | None = None  # ...MySQL/MariaDB name the database ``db``
    snapshot: str | bool | None = None
    lsn: int | None = None
    file: str | None = None
    pos: int | None = None
    row: int | None = None
    txId: int | str | None = None
    sequence: str | None = None
    gtid: str | None = None


class _Transaction(msgspec.Struct):
    id: str | None = None


#: A row image that is absent (the JSON ``null`` of a create's ``before``).
_NO_IMAGE = msgspec.Raw(b"null")


class _Envelope(msgspec.Struct):
    """A Debezium change-event value (JSON converter without schemas)."""

    op: str
    source: _Source
    #: The row images, kept as their JSON text: decoding them is most of the cost of a
    #: message, and a change a mapper ignores by its operation never needs them.
    before: msgspec.Raw = _NO_IMAGE
    after: msgspec.Raw = _NO_IMAGE
    transaction: _Transaction | None = None


# Decoded and type-checked in C (msgspec). A row image must be an object of JSON scalars: a
# nested value means a converter with schemas, or a column type scv does not read.
_DECODER = msgspec.json.Decoder(_Envelope)
_IMAGE = msgspec.json.Decoder(dict[str, Scalar] | None)
_OPS = {op.value: op for op in Op}


def _shown(value: object) -> str:
    """A cell in an error message: its ``repr``, cut (a 5,000-digit cell makes no reason)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} chars)"


def _invalid(value: bytes, exc: msgspec.ValidationError) -> InvalidChangeEvent:
    """The quarantine reason of an envelope that is JSON but not a flat Debezium envelope."""
    message = str(exc)
    if message.startswith("Expected `object`") and " - at `" not in message:
        return InvalidChangeEvent("malformed_envelope", "value is not a JSON object")
    if message.startswith("Object missing required field"):
        try:
            document = orjson.loads(value)  # valid JSON (the decoder got as far as the fields)
        except orjson.JSONDecodeError:
            # orjson stops at 1,024 levels where msgspec went on: deeply nested, not an
            # embedded schema.
            document = {}
        if "schema" in document and "payload" in document:
            return InvalidChangeEvent(
                "malformed_envelope",
                "schema+payload envelope: the converter must not embed schemas",
            )
        return InvalidChangeEvent("missing_field", message)
    return InvalidChangeEvent("mistyped_field", message)


def _image(raw: msgspec.Raw, where: str) -> Row | None:
    if raw == _NO_IMAGE:
        return None
    try:
        data = _IMAGE.decode(raw)
    except msgspec.ValidationError as exc:
        try:
            document = msgspec.json.decode(raw)
        except (msgspec.ValidationError, RecursionError):
            # A number no JSON decoder holds (more than 64 bits, or 1e400) or nesting past
            # the interpreter's recursion limit: msgspec's own message says which.
            raise InvalidChangeEvent("mistyped_field", f"{where}: {exc}") from None
        if not isinstance(document, dict):
            raise InvalidChangeEvent("mistyped_field", f"{where} is not an object") from None
        # msgspec names no dict key in its path: name the first nested column.
        column = next((c for c, v in document.items() if isinstance(v, dict | list)), None)
        if column is None:
            raise InvalidChangeEvent("mistyped_field", f"{where}: {exc}") from None
        raise InvalidChangeEvent(
            "mistyped_field", f"{where}.{column} is a nested value (converter with schemas?)"
        ) from exc
    except msgspec.DecodeError as exc:
        # The envelope decoder kept the image raw without checking its strings' UTF-8.
        raise InvalidChangeEvent("malformed_json", f"{where}: {exc}") from None
    except RecursionError:
        raise InvalidChangeEvent("malformed_json", f"{where} is nested too deep") from None
    return None if data is None else Row(data, where)


class Envelope(NamedTuple):
    """A change's envelope read, its row images not yet: enough to route it (table, op)."""

    op: Op
    labels: _Labels
    source_ts_ms: int
    position: str
    snapshot: bool
    tx_id: str | None
    before: msgspec.Raw
    after: msgspec.Raw
    #: Where the change stands in its source's commit order (``stream_order``); ``None`` for
    #: a snapshot read.
    order: StreamOrder | None = None

    @property
    def table(self) -> TableRef:
        return self.labels.table

    def change(self) -> ChangeEvent:
        """The full ``ChangeEvent``: the row images decoded and checked."""
        labels = self.labels
        return ChangeEvent(
            self.op,
            labels.table,
            _image(self.before, labels.before),
            _image(self.after, labels.after),
            self.source_ts_ms,
            self.position,
            self.snapshot,
            self.tx_id,
        )


def _position(source: _Source, where: str) -> str:
    if source.lsn is not None:
        return f"lsn:{source.lsn}"
    if source.file is not None and source.pos is not None:
        return f"binlog:{source.file}:{source.pos}:{source.row or 0}"
    if source.sequence is not None and source.snapshot not in (None, False, "false"):
        # An incremental snapshot read has no LSN of its own: the chunk's position in the
        # log (``sequence``) plus the read time identify it; with the row key it is unique.
        return f"snapshot:{source.sequence}:{source.ts_ms}"
    raise InvalidChangeEvent("missing_field", f"{where}: no lsn nor binlog file/pos")


#: A streamed change's place in its source's log, comparable within one connector's topics:
#: PostgreSQL ``(last commit LSN, LSN)``, MariaDB ``(GTID sequence, binlog position, row)``.
StreamOrder = tuple[int, ...]


def stream_order(source: _Source) -> StreamOrder | None:
    """The change's place in the commit order of its source, or ``None`` for a snapshot read.

    Debezium streams a source's changes in commit order, and after a crash replays them with
    the very same ``source`` block, so a change at or before the last one a partition handed on
    is a replay (``transforms.replays``). PostgreSQL: ``sequence`` is ``[last commit LSN,
    LSN]``; a transaction's events come after the previous commit and rise in LSN. MariaDB: the
    GTID's sequence number rises per transaction, and within one the event's binlog position
    and its row number in the event.
    """
    if source.snapshot not in (None, False, "false"):
        return None
    if source.lsn is not None:
        commit = 0
        if source.sequence is not None:
            try:
                last_commit = orjson.loads(source.sequence)[0]
                commit = int(last_commit) if last_commit is not None else 0
            except (orjson.JSONDecodeError, IndexError, KeyError, TypeError, ValueError):
                raise InvalidChangeEvent(
                    "mistyped_field", f"source.sequence={source.sequence!r} is not [lsn, lsn]"
                ) from None
        return (commit, source.lsn)
    if source.pos is None:
        return None
    row = source.row or 0
    if source.gtid is not None:
        sequence = source.gtid.rpartition("-")[2]
        if sequence.isdigit():
            return (int(sequence), source.pos, row)
    if source.file is not None:
        number = source.file.rpartition(".")[2]
        if number.isdigit():
            return (int(number), source.pos, row)
    return None


def parse_envelope(value: bytes | None) -> Envelope | None:
    """Bytes of a Debezium record value → ``Envelope``; ``None`` for a tombstone.

    >>> parse_envelope(None) is None
    True
    """
    if value is None:
        return None
    try:
        envelope = _DECODER.decode(value)
    except msgspec.ValidationError as exc:
        raise _invalid(value, exc) from None
    except msgspec.DecodeError as exc:
        raise InvalidChangeEvent("malformed_json", str(exc)) from None
    except RecursionError:
        # msgspec recurses to skip a field it does not read (or a row image it keeps raw):
        # JSON nested 100,000 deep runs out of stack, which is bad input, not a crash.
        raise InvalidChangeEvent("malformed_json", "value is nested too deep") from None
    source = envelope.source
    namespace = source.schema or source.db
    if namespace is None:
        raise InvalidChangeEvent("missing_field", "source: no schema/db")
    labels = _labels(source.name, namespace, source.table)
    op = _OPS.get(envelope.op)
    if op is None:
        raise InvalidChangeEvent("mistyped_field", f"{labels.where}: op={envelope.op!r}")
    if envelope.after == _NO_IMAGE and (op is Op.CREATE or op is Op.READ or op is Op.UPDATE):
        raise InvalidChangeEvent("missing_field", f"{labels.where}: op {op} without after-image")
    if envelope.before == _NO_IMAGE and op is Op.DELETE:
        raise InvalidChangeEvent("missing_field", f"{labels.where}: delete without before-image")
    transaction = envelope.transaction
    tx_id: str | None = None
    if transaction is not None and transaction.id is not None:
        tx_id = transaction.id
    elif source.txId is not None:
        tx_id = str(source.txId)
    return Envelope(
        op,
        labels,
        source.ts_ms,
        _position(source, labels.source),
        # "true", "first", "last", "first_in_data_collection", "incremental"…: anything but
        # "false"/absent means the row was read by a snapshot, not streamed.
        source.snapshot not in (None, False, "false"),
        tx_id,
        envelope.before,
        envelope.after,
        stream_order(source),
    )


def parse_change_event(value: bytes | None) -> ChangeEvent | None:
    """Bytes of a Debezium record value → ``ChangeEvent``; ``None`` for a tombstone.

    >>> parse_change_event(None) is None
    True
    """
    envelope = parse_envelope(value)
    return None if envelope is None else envelope.change()
