"""Site zones from the ERP's F0006: trimmed, blank zones left out, the environment wins."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Engine, event

from transforms.errors import SiteZonesUnavailable
from transforms.settings import TransformsSettings
from transforms.site_zones import read_site_zones, with_site_zones, zones_from_rows


@pytest.fixture
def erp() -> Iterator[Engine]:
    """An in-memory ERP with a schema ``proddta`` (an attached SQLite database)."""
    engine = sqlalchemy.create_engine("sqlite://", poolclass=sqlalchemy.pool.StaticPool)

    @event.listens_for(engine, "connect")
    def attach(connection: sqlite3.Connection, _: object) -> None:
        connection.execute("ATTACH DATABASE ':memory:' AS proddta")

    yield engine
    engine.dispose()


def test_rows_are_trimmed_and_blank_zones_left_out() -> None:
    rows = [("       20001", "America/Chicago "), ("       30001", "   "), ("40001", "UTC")]
    assert zones_from_rows(rows) == {"20001": "America/Chicago", "40001": "UTC"}


def test_the_zones_are_read_from_f0006(erp: Engine) -> None:
    with erp.begin() as c:
        c.execute(sqlalchemy.text("CREATE TABLE proddta.f0006 (mcmcu TEXT, mctzid TEXT)"))
        c.execute(sqlalchemy.text("INSERT INTO proddta.f0006 VALUES ('  20001', 'Europe/Paris')"))
    assert read_site_zones(erp) == {"20001": "Europe/Paris"}


def test_an_erp_that_cannot_be_read_is_one_line_without_the_url(
    erp: Engine, tmp_path: Path
) -> None:
    with pytest.raises(SiteZonesUnavailable, match=r"^site zones not read from the ERP F0006 "):
        read_site_zones(erp)  # no table
    with pytest.raises(SiteZonesUnavailable) as err:
        read_site_zones(f"sqlite:///{tmp_path}/no/such/dir/erp.db")  # an engine of its own
    assert str(tmp_path) not in str(err.value)


def test_zones_of_the_environment_win_per_site() -> None:
    settings = TransformsSettings(site_zones={"20001": "UTC"})
    merged = with_site_zones(settings, {"20001": "Europe/Paris", "30001": "Asia/Tokyo"})
    assert merged.site_zones == {"20001": "UTC", "30001": "Asia/Tokyo"}
