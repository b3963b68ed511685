"""The serving store's connection errors name no DSN and no password (no database needed)."""

from __future__ import annotations

from typing import Any, NoReturn

import psycopg
import pytest

from views.errors import StoreError
from views.store import Store


def test_an_unencoded_password_is_refused_before_libpq_quotes_a_piece_of_it() -> None:
    with pytest.raises(StoreError) as err:
        Store("postgresql://scv_owner:p@ss:w0rd@127.0.0.1:15432/scv", "views")
    assert "SCV_STORE_DSN" in str(err.value)
    for piece in ("p@ss", "w0rd", "ss:", "scv_owner"):
        assert piece not in str(err.value)


def test_a_driver_error_that_quotes_the_dsn_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://scv_owner:s3cr3t%2Fpw@127.0.0.1:15432/scv"

    def refuse(conninfo: str, **_: Any) -> NoReturn:
        raise psycopg.OperationalError(f'bad "{conninfo}": password "s3cr3t/pw" rejected')

    monkeypatch.setattr(psycopg, "connect", refuse)
    with pytest.raises(StoreError, match="cannot connect to the serving database") as err:
        Store(url, "views")
    assert "s3cr3t" not in str(err.value)
