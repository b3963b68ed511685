"""``scv edi``: user mistakes are one line and exit 2; the lists print one line per row.

No database: the store is replaced where a verb would open it, and the mistakes are caught
before any connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import edi.stage
import edi.store
from edi.plan import Document, Reject
from edi.store import DocumentRow, RejectRow
from edi.x12 import ControlNumbers
from scv.cli import cli
from scv.errors import run_with_boundary

AT = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCV_STORE_DSN", "postgresql://nobody@127.0.0.1:1/scv")
    monkeypatch.setenv("SCV_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SCV_EDI_OUTBOX_DIR", str(tmp_path / "outbox"))


def scv(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        run_with_boundary(lambda: cli.main(list(args), prog_name="scv", standalone_mode=False))
    out = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


class _Store:
    def __init__(self) -> None:
        self.opened_with: tuple[str, str] | None = None


def _opened(monkeypatch: pytest.MonkeyPatch, store: Any) -> None:
    @contextmanager
    def opened(dsn: str, schema: str) -> Iterator[Any]:
        store.opened_with = (dsn, schema)
        yield store

    monkeypatch.setattr(edi.store, "opened", opened)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partner", "nobody"], "no partner 'nobody' (partners: acme-retail, "),
        (["--partner", "acme-retail", "--as-of", "2999-01-01T00:00:00Z"], "is in the future"),
        (["--partner", "acme-retail", "--as-of", "last tuesday"], "is not an ISO time"),
    ],
)
def test_emit_refuses_a_mistake_in_one_line_before_reading_anything(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    def no_replay(*_: Any) -> None:
        raise AssertionError("no replay for a mistake")

    monkeypatch.setattr("scv.commands.edi._replayed_stock", no_replay)
    code, out, err = scv(capsys, "edi", "emit", "846", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("scv: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_emit_prints_the_file_it_wrote(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _Store()
    _opened(monkeypatch, store)
    document = Document("acme-retail", "846", "k", (), ControlNumbers(7, 7, 12), 2, b"ISA", AT)
    monkeypatch.setattr(edi.stage, "emit_846", lambda *_, **__: document)
    code, out, _ = scv(capsys, "edi", "emit", "846", "--partner", "acme-retail")
    assert code == 0
    assert store.opened_with == ("postgresql://nobody@127.0.0.1:1/scv", "edi")
    path = tmp_path / "outbox" / "acme-retail" / "acme-retail-846-000000007.x12"
    assert out == f"edi: 846 for acme-retail: ISA13 000000007, 2 transaction sets, {path}\n"


def test_emit_says_why_an_846_was_rejected_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _opened(monkeypatch, _Store())
    reject = Reject("positions_unavailable", "the views' table cannot be read", "acme-retail")
    monkeypatch.setattr(edi.stage, "emit_846", lambda *_, **__: reject)
    code, out, _ = scv(capsys, "edi", "emit", "846", "--partner", "acme-retail")
    assert code == 1
    assert out == (
        "edi: 846 for acme-retail rejected: positions_unavailable: "
        "the views' table cannot be read\n"
    )


class _Lists:
    def __init__(self) -> None:
        self.schema_ensured = False

    def ensure_schema(self) -> None:
        self.schema_ensured = True

    def rejects(self, limit: int) -> list[RejectRow]:
        row = RejectRow(
            "missing_gtin", "item 'X' has no GTIN", "acme-retail", "856", "MB1|SO1",
            uuid.UUID(int=1), None, AT,
        )  # fmt: skip
        record = RejectRow("malformed_json", "bad", None, None, None, None, "scv.order.v1[1]@5", AT)
        return [row, record][:limit]

    def documents(self, limit: int, partner_id: str | None) -> list[DocumentRow]:
        row = DocumentRow(
            "acme-retail", "856", 3, 3, 1, "MB1|SO1", "acme-retail-856-000000003.x12", "ab",
            "written", AT, AT,
        )  # fmt: skip
        return [row] if partner_id in (None, "acme-retail") else []


def test_rejects_lists_reason_partner_and_where(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _Lists()
    _opened(monkeypatch, store)
    code, out, _ = scv(capsys, "edi", "rejects")
    assert code == 0
    assert store.schema_ensured
    assert out.splitlines() == [
        "2026-03-02T14:05:00+00:00  acme-retail 856 MB1|SO1  missing_gtin: item 'X' has no GTIN",
        "2026-03-02T14:05:00+00:00  record (scv.order.v1[1]@5)  malformed_json: bad",
    ]


def test_documents_lists_one_line_per_interchange(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _opened(monkeypatch, _Lists())
    code, out, _ = scv(capsys, "edi", "documents")
    assert code == 0
    assert out.split() == [
        "2026-03-02T14:05:00+00:00", "acme-retail", "856", "000000003", "written",
        "acme-retail-856-000000003.x12", "MB1|SO1",
    ]  # fmt: skip
    code, out, _ = scv(capsys, "edi", "documents", "--partner", "northwind-depositor")
    assert (code, out) == (0, "no documents\n")


def test_every_verb_is_there() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["edi", "--help"])
    assert result.exit_code == 0
    for verb in ("run", "emit", "rejects", "documents"):
        assert f"  {verb} " in result.output
