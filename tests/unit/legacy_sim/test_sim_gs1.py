from __future__ import annotations

from legacy_sim import gs1


def test_check_digit_matches_published_examples() -> None:
    # GS1 General Specifications example GTIN-13 6291041500213; research §6.4 uses GTIN
    # 00012345678905 and SSCC 106141412345678908.
    assert gs1.check_digit("629104150021") == "3"
    assert gs1.check_digit("0001234567890") == "5"
    assert gs1.check_digit("10614141234567890") == "8"


def test_keys_have_the_right_length_and_validate() -> None:
    gtin = gs1.gtin14(42)
    sscc = gs1.sscc(234567890, extension=1)
    assert len(gtin) == 14
    assert len(sscc) == 18
    assert sscc == "106141412345678908"
    for key in (gtin, sscc):
        assert gs1.check_digit(key[:-1]) == key[-1]
