"""Encoders for the legacy storage conventions the pipeline must undo (research §1.3, §3.3).

Pure functions, no I/O. The simulator writes every value through these, so the quirks are
the same everywhere and each one has a unit test. Decoding is the transforms' job; nothing
here decodes, on purpose, so a shared bug cannot hide on both sides.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Final, Literal
from zoneinfo import ZoneInfo

#: JDE "no date".
NO_DATE: Final = 0
#: Exceed's sentinel for "never" in DATETIME columns (ArchiveDate, PODArrive, DateReceived).
WMS_SENTINEL: Final = datetime(1901, 1, 1)
#: Older WMS rows use 1900-01-01 for a missing lottable date.
WMS_OLD_SENTINEL: Final = datetime(1900, 1, 1)

#: Currency decimals as JDE's currency table would hold them (CRCD → CDEC).
CURRENCY_DECIMALS: Final[dict[str, int]] = {"USD": 2, "CAD": 2, "EUR": 2, "JPY": 0, "VND": 0}

Scale = int | Literal["amount", "price"]

#: The data-dictionary display decimals per ERP column. ``amount`` = the currency's decimals,
#: ``price`` = the currency's decimals + 2 (``PDPRRC 57443`` is 574.43 VND, ``5744300`` is
#: 574.43 USD). Quantities x100, line numbers x1000, conversion factors x10^7.
ERP_DECIMALS: Final[dict[str, Scale]] = {
    # line numbers
    "sdlnid": 3, "pdlnid": 3, "prlnid": 3, "prnlin": 0,
    # quantities (transaction UoM on order/PO lines, primary UoM on balances)
    "sduorg": 2, "sdsoqs": 2, "sdsobk": 2, "sdsocn": 2,
    "pduorg": 2, "pdurec": 2, "pduopn": 2,
    "pruorg": 2, "prurec": 2, "pruopn": 2,
    "lipqoh": 2, "lipcom": 2, "lihcom": 2, "lifcom": 2, "lipreq": 2, "liqttr": 2, "liqtin": 2,
    # conversion factors
    "umconv": 7, "umcnv1": 7,
    # prices and amounts, by currency
    "sduprc": "price", "pdprrc": "price", "prprrc": "price",
    "sdaexp": "amount", "pdaexp": "amount", "praexp": "amount",
}  # fmt: skip


def column_decimals(column: str, currency: str | None = None) -> int:
    """Implied decimals of an ERP column (``sduorg`` → 2; ``sduprc`` in JPY → 2)."""
    scale = ERP_DECIMALS[column.lower()]
    if isinstance(scale, int):
        return scale
    if currency is None:
        raise ValueError(f"{column} is stored in currency decimals: the currency is required")
    decimals = CURRENCY_DECIMALS[currency.strip()]
    return decimals + 2 if scale == "price" else decimals


def implied(value: Decimal, decimals: int) -> int:
    """``Decimal('12.50')``, 2 → ``1250``. Refuses values that do not fit exactly."""
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {decimals} decimals")
    return int(scaled)


def implied_for(column: str, value: Decimal, currency: str | None = None) -> int:
    """Store ``value`` in ``column`` the way JDE does, e.g. ``implied_for('sduorg', 12) = 1200``."""
    return implied(value, column_decimals(column, currency))


def julian(day: date | None) -> int:
    """JDE ``CYYDDD``: ``1000 * (year - 1900) + day_of_year``; ``None`` → 0 ("no date")."""
    if day is None:
        return NO_DATE
    if not 1900 <= day.year <= 2899:
        raise ValueError(f"{day} is outside the CYYDDD range (1900-2899)")
    return 1000 * (day.year - 1900) + day.timetuple().tm_yday


def hhmmss(moment: time) -> int:
    """JDE ``TDAY``: numeric ``HHMMSS``, so 09:35:12 is ``93512`` (the leading zero is lost)."""
    return moment.hour * 10000 + moment.minute * 100 + moment.second


def pad(value: str, width: int) -> str:
    """A CHAR(n) value with trailing blanks, as PostgreSQL returns it."""
    if len(value) > width:
        raise ValueError(f"{value!r} is longer than CHAR({width})")
    return value.ljust(width)


def mcu(code: str) -> str:
    """A JDE business unit: CHAR(12), right-justified with leading blanks (``'       20001'``)."""
    if len(code) > 12:
        raise ValueError(f"business unit {code!r} is longer than 12 characters")
    return code.rjust(12)


def wms_key(number: int, width: int = 10) -> str:
    """Exceed internal keys are zero-padded strings: ``OrderKey '0000123456'``, line ``'00001'``."""
    text = str(number)
    if number < 0 or len(text) > width:
        raise ValueError(f"{number} does not fit a {width}-character key")
    return text.zfill(width)


def local_wall_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """The branch-local wall time with no offset, as ERP dates/times and WMS DATETIMEs hold it."""
    if moment.tzinfo is None:
        raise ValueError("local_wall_time needs an aware datetime")
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def epoch_seconds(moment: datetime) -> int:
    """Unix seconds (UTC), as the cold-room probe gateway writes ``ZZ_TEMP_LOG.ReadingEpoch``."""
    if moment.tzinfo is None:
        raise ValueError("epoch_seconds needs an aware datetime")
    return int(moment.astimezone(UTC).timestamp())


def order_ref(kcoo: str, dcto: str, doco: int) -> str:
    """The host reference the WMS keeps (``ExternOrderKey``), e.g. ``00020-SO-12345``."""
    return f"{kcoo.strip()}-{dcto.strip()}-{doco}"
