"""Decoders of the legacy conventions, checked against the documented rules (not the sim)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from transforms import quirks
from transforms.errors import MappingError

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, None),
        (None, None),
        (100001, date(2000, 1, 1)),  # C=1: year 2000
        (99365, date(1999, 12, 31)),  # C=0: 19xx
        (100060, date(2000, 2, 29)),  # leap day of a century leap year
        (124366, date(2024, 12, 31)),
        (125032, date(2025, 2, 1)),
        (Decimal("114001"), date(2014, 1, 1)),
    ],
)
def test_julian_dates(raw: int | None, expected: date | None) -> None:
    assert quirks.julian_date(raw) == expected


@pytest.mark.parametrize("raw", [125366, 125000, -1])
def test_impossible_julian_dates_are_mapping_errors(raw: int) -> None:
    with pytest.raises(MappingError):
        quirks.julian_date(raw)


def test_hhmmss_lost_its_leading_zero() -> None:
    assert quirks.hhmmss_time(93512) == time(9, 35, 12)
    assert quirks.hhmmss_time(0) == time(0, 0, 0)
    assert quirks.hhmmss_time(235959) == time(23, 59, 59)
    with pytest.raises(MappingError):
        quirks.hhmmss_time(246000)


def test_erp_local_time_becomes_utc_with_offset() -> None:
    # The research worked example: 2025-02-01 09:35:12 America/Chicago (CST, -06:00).
    moment, offset = quirks.erp_datetime(125032, 93512, CHICAGO) or (None, None)
    assert moment == datetime(2025, 2, 1, 15, 35, 12, tzinfo=UTC)
    assert offset == "-06:00"
    # Summer time: CDT, -05:00.
    moment, offset = quirks.erp_datetime(125182, 120000, CHICAGO) or (None, None)
    assert moment == datetime(2025, 7, 1, 17, 0, tzinfo=UTC)
    assert offset == "-05:00"
    assert quirks.erp_datetime(0, 93512, CHICAGO) is None


def test_implied_decimals_are_exact() -> None:
    assert quirks.implied(1200, 2) == Decimal("12.00")
    assert quirks.implied(Decimal("120000000"), 7) == Decimal(12)
    with pytest.raises(MappingError):
        quirks.implied(Decimal("12.5"), 2)


def test_prices_and_amounts_scale_by_currency() -> None:
    assert quirks.unit_price(5744300, "USD") == Decimal("574.43")
    assert quirks.unit_price(57443, "VND") == Decimal("574.43")
    assert quirks.amount(1999, "USD") == Decimal("19.99")
    assert quirks.amount(1999, "JPY") == Decimal(1999)
    with pytest.raises(MappingError, match="unknown_currency"):
        quirks.amount(1, "XXX")


def test_padding_and_right_justified_business_units() -> None:
    assert quirks.rtrim("AC-1001-BLU              ") == "AC-1001-BLU"
    assert quirks.rtrim("   ") is None
    assert quirks.business_unit("       20001") == "20001"
    assert quirks.business_unit("            ") is None


def test_composite_keys_and_lines() -> None:
    assert quirks.document_id("00020", "SO", 12345) == "00020-SO-12345"
    assert quirks.line_number(1000) == "1.000"
    assert quirks.line_number(1001) == "1.001"
    assert quirks.wms_line_to_lnid("00001") == 1000


def test_wms_datetime_is_facility_local_not_utc() -> None:
    # Debezium renders DATETIME '2025-02-01 09:35:12' as the millis of 09:35:12 *UTC*.
    as_if_utc = int(datetime(2025, 2, 1, 9, 35, 12, tzinfo=UTC).timestamp() * 1000)
    moment, offset = quirks.wms_local_datetime(as_if_utc, CHICAGO) or (None, None)
    assert moment == datetime(2025, 2, 1, 15, 35, 12, tzinfo=UTC)
    assert offset == "-06:00"


@pytest.mark.parametrize("sentinel", [datetime(1901, 1, 1), datetime(1900, 1, 1)])
def test_wms_sentinel_dates_mean_none(sentinel: datetime) -> None:
    millis = int(sentinel.replace(tzinfo=UTC).timestamp() * 1000)
    assert quirks.wms_local_datetime(millis, CHICAGO) is None


def test_epoch_seconds_are_already_utc() -> None:
    assert quirks.epoch_seconds(1738424112) == datetime(2025, 2, 1, 15, 35, 12, tzinfo=UTC)


def test_tidy_keeps_exact_values_without_exponents() -> None:
    assert str(quirks.tidy(Decimal("144.0000000"))) == "144"
    assert str(quirks.tidy(Decimal("1.5000"))) == "1.5"
    assert str(quirks.tidy(Decimal("100"))) == "100"


# -- values the legacy columns accept and no decoder foresaw (issue 15) -------------------------


@pytest.mark.parametrize("raw", [-1, -12345, 246000, 236000, 1000000, Decimal("93512.5")])
def test_impossible_hhmmss_times_are_invalid_time(raw: int | Decimal) -> None:
    """-1 used to read as 00:00:01 (``-00001``) and -12345 to raise ValueError."""
    with pytest.raises(MappingError) as caught:
        quirks.hhmmss_time(raw)
    assert caught.value.reason == "invalid_time"


@pytest.mark.parametrize("value", [Decimal("1E+40"), Decimal("-1E+40"), Decimal("9" * 29)])
def test_tidy_refuses_a_whole_number_wider_than_the_context(value: Decimal) -> None:
    with pytest.raises(MappingError) as caught:
        quirks.tidy(value)
    assert caught.value.reason == "out_of_range"


def test_tidy_keeps_28_digits() -> None:
    assert quirks.tidy(Decimal("9" * 28)) == Decimal("9" * 28)


@pytest.mark.parametrize("value", [10**15, -(10**15), 253402300800])
def test_epoch_seconds_out_of_range(value: int) -> None:
    with pytest.raises(MappingError) as caught:
        quirks.epoch_seconds(value)
    assert caught.value.reason == "out_of_range"


def test_epoch_seconds_at_the_ends_of_the_range_are_placed_in_any_zone() -> None:
    for value in (quirks._EPOCH_MIN_S, quirks._EPOCH_MAX_S):
        moment = quirks.epoch_seconds(value)
        assert moment is not None
        for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
            moment.astimezone(ZoneInfo(zone))  # no OverflowError


@pytest.mark.parametrize("value", [2**62, -(2**62)])
def test_epoch_millis_out_of_range(value: int) -> None:
    with pytest.raises(MappingError) as caught:
        quirks.epoch_millis(value)
    assert caught.value.reason == "out_of_range"


@pytest.mark.parametrize("value", [2**62, -(2**62), 253402300799000])
def test_wms_datetime_out_of_range(value: int) -> None:
    """253402300799000 is 9999-12-31 23:59:59, a legal DATETIME with no UTC time in Chicago."""
    with pytest.raises(MappingError) as caught:
        quirks.wms_local_datetime(value, CHICAGO)
    assert caught.value.reason == "out_of_range"


@pytest.mark.parametrize("line", ["²", "1" * 19, "-1"])
def test_a_wms_order_line_that_is_no_number_is_invalid_line(line: str) -> None:
    with pytest.raises(MappingError) as caught:
        quirks.wms_line_to_lnid(line)
    assert caught.value.reason == "invalid_line"
