"""DSNs carry passwords: encoded when built, checked without being quoted, redacted from errors."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import make_url

import dsn
from connectors.sources import Dsn
from stack.credentials import Credentials
from stack.endpoints import exports
from stack.settings import StackSettings

AWKWARD = "p@ss:w/rd%?#&= x"


def _credentials(password: str) -> Credentials:
    names = ("ERP_OWNER", "ERP_CDC", "ERP_READER", "STORE", "WMS_OWNER", "WMS_CDC")
    return Credentials(
        {**{f"SCV_{n}_PASSWORD": password for n in names}, "SCV_PII_HASH_SALT": "salt"}
    )


def test_exported_dsns_encode_the_password_so_every_parser_reads_it_back() -> None:
    urls = exports(StackSettings(), _credentials(AWKWARD))
    for name, user, database in (
        ("SCV_ERP_DSN", "scv_owner", "erp"),
        ("SCV_ERP_READ_DSN", "scv_reader", "erp"),
        ("SCV_WMS_DSN", "scv_owner", "wmwhse1"),
        ("SCV_STORE_DSN", "scv_store", "scv"),
    ):
        url = make_url(urls[name])  # SQLAlchemy: the simulator, the pipeline's F0006 read
        assert (url.username, url.password, url.host, url.database) == (
            user,
            AWKWARD,
            "127.0.0.1",
            database,
        )
        assert Dsn.parse(urls[name]).password == AWKWARD  # connectors prepare
        assert dsn.problem(urls[name]) is None
    libpq = urls["SCV_STORE_DSN"].replace("postgresql+psycopg://", "postgresql://")
    assert conninfo_to_dict(libpq)["password"] == AWKWARD  # the views store


@pytest.mark.parametrize(
    "bad",
    [
        "postgresql+psycopg://u:p@ss:w0rd@h:5432/db",  # unencoded: port 'w0rd@h:5432'
        "postgresql+psycopg://u:s3cr3t@h:notaport/db",
        "s3cr3t-only",
    ],
)
def test_a_bad_dsn_is_described_without_being_quoted(bad: str) -> None:
    found = dsn.problem(bad)
    assert found is not None
    for piece in ("s3cr3t", "w0rd", "p@ss", "notaport"):
        assert piece not in found


def test_an_unencoded_password_fails_in_the_connectors_without_a_piece_of_it() -> None:
    from connectors.errors import SourceError

    with pytest.raises(SourceError) as err:
        Dsn.parse("postgresql+psycopg://u:p@ss:w0rd@h:5432/db")
    assert "w0rd" not in str(err.value)


def test_redact_removes_the_dsn_and_its_password_encoded_and_decoded() -> None:
    url = dsn.url("postgresql", "scv_owner", AWKWARD, "h", 1, "scv")
    text = f"cannot connect to {url}: password {AWKWARD!r} or {url.split(':')[2]} refused"
    redacted = dsn.redact(text, url)
    assert AWKWARD not in redacted
    assert "p%40ss" not in redacted
    assert redacted.count(dsn.MASK) == 3
    assert dsn.redact("no secret here", url) == "no secret here"
