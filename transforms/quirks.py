"""Decoders that undo the legacy conventions (research note §1.3, §2, §3.3).

Written from the documented conventions, not from the simulator's encoders, so a test of a
mapper checks two independent readings of the same rule.

ERP (JD Edwards style): Julian ``CYYDDD`` dates (0 = no date), numeric ``HHMMSS`` times that
lost their leading zero, both in the branch's local time; implied decimals per column and per
currency; blank-padded CHAR columns and right-justified business units; composite keys.
WMS (Exceed style): ``' '`` defaults, 1900/1901 sentinel dates, ``DATETIME`` in facility-local
time that Debezium renders as epoch millis *as if it were UTC*, zero-padded internal keys; a
bolt-on probe table with Unix epoch seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from transforms.errors import MappingError

#: Decimal places of amounts by ISO 4217 currency (JDE stores amounts without a separator).
CURRENCY_DECIMALS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "MXN": 2,
    "CNY": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
}

#: Implied decimal places of ERP quantity columns (x100), line numbers (x1000) and UoM
#: conversion factors (x10^7); prices and amounts scale by currency (``unit_price``, ``amount``).
QUANTITY_SCALE = 2
LINE_SCALE = 3
CONVERSION_SCALE = 7


# The pure conversions below are cached: a transaction's rows share their dates and times.
@lru_cache(maxsize=4096)
def julian_date(value: int | Decimal | None) -> date | None:
    """``CYYDDD`` → date; 0 or None means no date.

    >>> julian_date(125032), julian_date(100060), julian_date(0)
    (datetime.date(2025, 2, 1), datetime.date(2000, 2, 29), None)
    """
    if value is None:
        return None
    number = int(value)
    if number == 0:
        return None
    if number < 0 or number > 299366:
        raise MappingError("invalid_date", f"Julian date {value} out of range")
    year = 1900 + number // 1000
    day_of_year = number % 1000
    start = date(year, 1, 1)
    last_day = date(year, 12, 31).timetuple().tm_yday
    if not 1 <= day_of_year <= last_day:
        raise MappingError("invalid_date", f"Julian date {value}: day {day_of_year} of {year}")
    return start + timedelta(days=day_of_year - 1)


def hhmmss_time(value: int | Decimal | None) -> time:
    """Numeric ``HHMMSS`` (leading zero lost: 93512 = 09:35:12) → time; None → midnight.

    The column is NUMERIC(6,0), so the ERP also stores negative times: they are refused, not
    read digit by digit (``-1`` formatted as ``-00001`` would have passed as 00:00:01).
    """
    if value is None:
        return time(0, 0, 0)
    if not 0 <= value <= 235959 or value != int(value):
        raise MappingError("invalid_time", f"time {value} is not HHMMSS")
    digits = f"{int(value):06d}"
    hh, mm, ss = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if hh > 23 or mm > 59 or ss > 59:
        raise MappingError("invalid_time", f"time {value} is not HHMMSS")
    return time(hh, mm, ss)


def format_offset(moment: datetime) -> str:
    """``±HH:MM`` of an aware datetime (EPCIS ``eventTimeZoneOffset``)."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("naive datetime")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def localize(local: datetime, zone: ZoneInfo) -> tuple[datetime, str]:
    """A naive site-local wall-clock time → (UTC time, the site's ``±HH:MM`` offset then).

    In the autumn fold the first occurrence is taken (``fold=0``), the choice JDE would make
    reading its own clock; a time in the spring gap is shifted forward by the zone rules.
    """
    aware = local.replace(tzinfo=zone)
    try:
        return aware.astimezone(UTC), format_offset(aware)
    except OverflowError:
        # A legal wall-clock time at the end of the calendar (a ``9999-12-31 23:59`` "never"
        # in a zone west of UTC) has no UTC time that ``datetime`` can hold.
        raise MappingError(
            "out_of_range", f"{local.isoformat()} in {zone} is out of range"
        ) from None


@lru_cache(maxsize=4096)
def erp_datetime(
    julian: int | Decimal | None, hhmmss: int | Decimal | None, zone: ZoneInfo
) -> tuple[datetime, str] | None:
    """ERP date + time in branch-local time → (UTC, offset); None when the date is 0."""
    day = julian_date(julian)
    if day is None:
        return None
    return localize(datetime.combine(day, hhmmss_time(hhmmss)), zone)


def implied(value: Decimal | int, scale: int) -> Decimal:
    """An integer stored without its decimal separator → exact Decimal.

    >>> implied(1200, 2), implied(Decimal("5744300"), 4)
    (Decimal('12.00'), Decimal('574.4300'))
    """
    number = Decimal(value)
    if number != number.to_integral_value():
        raise MappingError("invalid_number", f"{value} should be an implied-decimal integer")
    return number.scaleb(-scale)


def amount(value: Decimal | int, currency: str | None) -> Decimal:
    """A JDE amount, scaled by its currency's decimals (USD x100, JPY/VND x1)."""
    if currency is None or currency not in CURRENCY_DECIMALS:
        raise MappingError("unknown_currency", f"no decimals known for currency {currency!r}")
    return implied(value, CURRENCY_DECIMALS[currency])


def unit_price(value: Decimal | int, currency: str | None) -> Decimal:
    """A JDE unit price/cost: the currency's decimals + 2 (574.43 is 5744300 USD, 57443 VND)."""
    if currency is None or currency not in CURRENCY_DECIMALS:
        raise MappingError("unknown_currency", f"no decimals known for currency {currency!r}")
    return implied(value, CURRENCY_DECIMALS[currency] + 2)


def tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without exponent notation: 144.0000000 → 144, 1.50 → 1.5.

    A whole number wider than the decimal context (28 digits, e.g. a quantity times a
    conversion factor grown past it) cannot be written without an exponent: refused.
    """
    try:
        if value == value.to_integral_value():
            return value.quantize(Decimal(1))
        return value.normalize()
    except InvalidOperation:
        raise MappingError("out_of_range", f"{value} has more than 28 digits") from None


def rtrim(value: str | None) -> str | None:
    """CHAR padding: trailing blanks removed, blank means None."""
    if value is None:
        return None
    return value.rstrip() or None


def business_unit(value: str | None) -> str | None:
    """Right-justified business unit ``'       20001'`` → ``'20001'``."""
    if value is None:
        return None
    return value.strip() or None


def line_number(lnid: Decimal | int) -> str:
    """JDE line number x1000 → ``'1.000'``; the backorder split 1001 → ``'1.001'``."""
    return f"{implied(lnid, LINE_SCALE):.3f}"


def document_id(company: str | None, doc_type: str | None, number: int | Decimal) -> str:
    """Composite JDE document key → ``'00020-SO-12345'`` (company-type-number)."""
    if not company or not doc_type:
        raise MappingError("missing_value", f"document {number}: company or type is blank")
    return f"{company.strip()}-{doc_type.strip()}-{int(number)}"


def wms_line_to_lnid(order_line: str) -> int:
    """WMS ``OrderLineNumber '00001'`` → ERP ``lnid`` 1000 (line 1.000)."""
    stripped = order_line.strip()
    # ``isdigit`` would pass "²", which ``int`` refuses; more than 18 digits is no line.
    if not (stripped.isascii() and stripped.isdigit() and len(stripped) <= 18):
        raise MappingError("invalid_line", f"WMS order line {order_line!r} is not numeric")
    return int(stripped) * 1000


#: WMS "no date" sentinels (Exceed ArchiveDate default and older lottable rows).
_SENTINEL_YEARS = (1900, 1901)


def wms_local_datetime(epoch_ms: int | None, zone: ZoneInfo) -> tuple[datetime, str] | None:
    """MariaDB ``DATETIME`` (local, no zone) that Debezium rendered as epoch millis as if UTC.

    Reading the millis as UTC gives back the stored wall-clock time; it is then placed in the
    facility zone. 1900/1901 sentinels and None mean no date.
    """
    if epoch_ms is None:
        return None
    try:
        wall = datetime(1970, 1, 1) + timedelta(milliseconds=epoch_ms)
    except OverflowError:
        raise MappingError("out_of_range", f"DATETIME {epoch_ms} ms is out of range") from None
    if wall.year in _SENTINEL_YEARS:
        return None
    return localize(wall, zone)


#: Machine epochs (probe readings, Debezium's ``ts_ms``) are accepted within this range: a day
#: inside what ``datetime`` holds, so that placing the instant in any zone cannot overflow.
_EPOCH_MIN = datetime(1, 1, 2, tzinfo=UTC)
_EPOCH_MAX = datetime(9999, 12, 30, tzinfo=UTC)
_EPOCH_MIN_S = int((_EPOCH_MIN - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
_EPOCH_MAX_S = int((_EPOCH_MAX - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


def epoch_seconds(value: int | None) -> datetime | None:
    """Unix epoch seconds (already UTC) → aware UTC datetime."""
    if value is None:
        return None
    if not _EPOCH_MIN_S <= value <= _EPOCH_MAX_S:
        raise MappingError("out_of_range", f"epoch {value} s is out of range")
    return datetime.fromtimestamp(value, tz=UTC)


def epoch_millis(value: int) -> datetime:
    if not _EPOCH_MIN_S * 1000 <= value <= _EPOCH_MAX_S * 1000:
        raise MappingError("out_of_range", f"epoch {value} ms is out of range")
    return datetime.fromtimestamp(value / 1000, tz=UTC)
