"""``scv epcis``: user mistakes are one line and exit 2, before any broker is asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from scv.cli import cli
from scv.errors import run_with_boundary


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A broker nobody listens on: a test that reached Kafka would fail, not hang on a stack.
    monkeypatch.setenv("SCV_KAFKA_BOOTSTRAP", "127.0.0.1:1")


def scv(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        run_with_boundary(lambda: cli.main(list(args), prog_name="scv", standalone_mode=False))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    else:
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("garbage", "scv: error: 'garbage' is not an ISO time (like 2026-03-02T14:05:00Z)"),
        ("2999-01-01", "scv: error: 2999-01-01 is in the future"),
    ],
)
def test_a_bad_since_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, since: str, message: str
) -> None:
    out = tmp_path / "epcis.jsonld"
    code, stdout, stderr = scv(capsys, "epcis", "export", "--since", since, "--out", str(out))
    assert (code, stdout, stderr.strip()) == (2, "", message)
    assert not out.exists()


def test_the_output_file_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = scv(capsys, "epcis", "export")
    assert code == 2
    assert "--out" in stderr
