"""The quirk encoders against hand-checked values and independent reference decoders.

The reference decoders below are written from the legacy definitions (digit slicing), not
from the encoders' arithmetic, so a shared mistake cannot pass on both sides.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from legacy_sim import quirks


def _decode_cyyddd(value: int) -> date | None:
    if value == 0:
        return None
    digits = f"{value:06d}"
    century, yy, ddd = int(digits[0]), int(digits[1:3]), int(digits[3:])
    return date(1900 + 100 * century + yy, 1, 1) + timedelta(days=ddd - 1)


def _decode_hhmmss(value: int) -> time:
    digits = f"{value:06d}"
    return time(int(digits[:2]), int(digits[2:4]), int(digits[4:]))


@pytest.mark.parametrize(
    ("day", "stored"),
    [
        (date(2001, 1, 1), 101001),
        (date(2014, 1, 1), 114001),
        (date(2025, 2, 1), 125032),
        (date(2025, 2, 5), 125036),
        (date(2000, 1, 1), 100001),
        (date(2000, 2, 29), 100060),  # 2000 is a leap year (divisible by 400)
        (date(2000, 12, 31), 100366),
        (date(1999, 12, 31), 99365),  # C = 0: the leading zero is lost in the number
        (date(2024, 2, 29), 124060),
        (date(2100, 3, 1), 200060),  # 2100 is not a leap year
        (date(1900, 1, 1), 1),
    ],
)
def test_julian_known_values(day: date, stored: int) -> None:
    assert quirks.julian(day) == stored


def test_julian_zero_means_no_date() -> None:
    assert quirks.julian(None) == 0
    assert _decode_cyyddd(0) is None


def test_julian_round_trips_every_day_1900_to_2101() -> None:
    day = date(1900, 1, 1)
    while day <= date(2101, 12, 31):
        assert _decode_cyyddd(quirks.julian(day)) == day, day
        day += timedelta(days=1)


def test_julian_refuses_dates_it_cannot_hold() -> None:
    with pytest.raises(ValueError, match="CYYDDD"):
        quirks.julian(date(1899, 12, 31))


@pytest.mark.parametrize(
    ("moment", "stored"),
    [(time(9, 35, 12), 93512), (time(0, 0, 0), 0), (time(0, 0, 7), 7), (time(23, 59, 59), 235959)],
)
def test_hhmmss_known_values(moment: time, stored: int) -> None:
    assert quirks.hhmmss(moment) == stored


def test_hhmmss_round_trips_every_second_of_a_day() -> None:
    for second in range(86400):
        moment = time(second // 3600, second // 60 % 60, second % 60)
        assert _decode_hhmmss(quirks.hhmmss(moment)) == moment


@pytest.mark.parametrize(
    ("column", "currency", "value", "stored"),
    [
        ("sduorg", None, Decimal("12"), 1200),
        ("sduorg", None, Decimal("0.5"), 50),
        ("sdlnid", None, Decimal("1.001"), 1001),
        ("umconv", None, Decimal("12"), 120000000),
        ("pdprrc", "VND", Decimal("574.43"), 57443),  # research §1.1 example
        ("pdprrc", "USD", Decimal("574.43"), 5744300),
        ("sdaexp", "USD", Decimal("1234.56"), 123456),
        ("sdaexp", "JPY", Decimal("1234"), 1234),
        ("sduprc", "JPY", Decimal("98.5"), 9850),
        ("lipqoh", None, Decimal("-3"), -300),
    ],
)
def test_implied_decimals_by_column_and_currency(
    column: str, currency: str | None, value: Decimal, stored: int
) -> None:
    encoded = quirks.implied_for(column, value, currency)
    assert encoded == stored
    # Round trip with plain string arithmetic, independent of the encoder.
    decimals = quirks.column_decimals(column, currency)
    assert Decimal(encoded).scaleb(-decimals) == value


def test_implied_refuses_values_with_too_many_decimals() -> None:
    with pytest.raises(ValueError, match="decimals"):
        quirks.implied_for("sdaexp", Decimal("10.5"), "JPY")
    with pytest.raises(ValueError, match="currency"):
        quirks.column_decimals("sdaexp")


def test_pad_and_mcu() -> None:
    padded = quirks.pad("AC-1001-BLU", 25)
    assert len(padded) == 25
    assert padded.rstrip() == "AC-1001-BLU"
    assert padded.startswith("AC-1001-BLU ")
    assert quirks.mcu("20001") == "       20001"
    assert quirks.mcu("20001").strip() == "20001"
    with pytest.raises(ValueError, match="CHAR"):
        quirks.pad("x" * 26, 25)


def test_wms_keys_are_zero_padded() -> None:
    assert quirks.wms_key(123456) == "0000123456"
    assert quirks.wms_key(1, 5) == "00001"
    assert int(quirks.wms_key(42, 5)) == 42
    with pytest.raises(ValueError, match="fit"):
        quirks.wms_key(100000, 5)


def test_local_wall_time_has_no_offset_and_follows_dst() -> None:
    chicago = ZoneInfo("America/Chicago")
    winter = quirks.local_wall_time(datetime(2025, 2, 1, 15, 35, 12, tzinfo=UTC), chicago)
    summer = quirks.local_wall_time(datetime(2025, 7, 1, 15, 35, 12, tzinfo=UTC), chicago)
    assert winter == datetime(2025, 2, 1, 9, 35, 12)
    assert summer == datetime(2025, 7, 1, 10, 35, 12)
    assert winter.tzinfo is None


def test_epoch_seconds_are_utc() -> None:
    moment = datetime(2025, 2, 1, 9, 35, 12, tzinfo=ZoneInfo("America/Chicago"))
    assert quirks.epoch_seconds(moment) == 1738424112
    assert datetime.fromtimestamp(1738424112, UTC) == moment


def test_order_ref() -> None:
    assert quirks.order_ref("00020", "SO", 12345) == "00020-SO-12345"
