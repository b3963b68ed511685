"""``run_parity`` over two directories: files found and read, the report written, user mistakes
refused with one line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edi.errors import ParityError
from edi.parity import Commit
from edi.parity_report import run_parity
from edi.profile import PARTNERS_DIR

from . import paritydata as pd


def _write(root: Path, files: Mapping[str, bytes]) -> Path:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _dirs(
    tmp_path: Path, stream: Mapping[str, bytes] | None = None, **changes: Any
) -> tuple[Path, Path]:
    files, _, raw = pd.batch_side(frozenset({"stage_lanes_excluded"}), **changes)
    batch = _write(tmp_path / "batch", files)
    (batch / "manifest.json").write_text(json.dumps(raw))
    return batch, _write(tmp_path / "outbox", pd.stream_files() if stream is None else stream)


def _run(batch: Path, stream: Path, out: Path, **more: Any) -> Any:
    return run_parity(
        batch_dir=batch,
        stream_dir=stream,
        out_dir=out,
        ledger=lambda since: [],
        partners_dir=PARTNERS_DIR,
        now=pd.AT,
        **more,
    )


def test_equal_directories_pass_and_the_report_is_self_contained(tmp_path: Path) -> None:
    batch, stream = _dirs(tmp_path)
    (stream / "acme-retail" / ".846-2.x12.tmp").write_text("half written")
    (stream / "acme-retail" / "note.txt").write_text("not X12")
    run = _run(batch, stream, tmp_path / "report")
    assert run.unexplained == 0
    assert run.summary["verdict"] == "pass"
    assert run.summary["totals"]["documents_matched"] == 6
    assert run.summary["skipped_files"] == {"batch": [], "stream": ["acme-retail/note.txt"]}
    html = run.index.read_text()
    assert "PASS" in html
    assert "<script" not in html
    assert "http" not in html
    assert json.loads(run.data.read_text())["verdict"] == "pass"


def test_a_difference_is_in_the_report_with_its_class_and_reason(tmp_path: Path) -> None:
    stream = pd.without(pd.stream_files(), "northwind-depositor/944-1.x12")
    stream["northwind-depositor/broken.x12"] = pd.stream_files()["northwind-depositor/944-1.x12"][
        :-30
    ]
    batch, outbox = _dirs(tmp_path, stream)
    subject = "receipt:00020-OP-4711/99123"
    run = run_parity(
        batch_dir=batch,
        stream_dir=outbox,
        out_dir=tmp_path / "report",
        ledger=lambda since: [
            Commit(at=pd.AT - timedelta(minutes=1), kind="receipt", origins=frozenset({subject}))
        ],
        partners_dir=PARTNERS_DIR,
        now=pd.AT,
    )
    assert run.unexplained == 2
    kinds = sorted((d["kind"], d["document"]) for d in run.summary["differences"])
    assert kinds == [("missing_in_stream", "944"), ("unreadable", "?")]
    html = run.index.read_text()
    assert "FAIL" in html
    assert "the stream has no 944 for it (receipt committed at" in html
    assert "northwind-depositor/broken.x12" in html


def test_the_ledger_is_asked_from_the_window_s_start(tmp_path: Path) -> None:
    batch, stream = _dirs(tmp_path)
    asked: list[datetime] = []

    def ledger(since: datetime) -> list[Commit]:
        asked.append(since)
        return []

    run_parity(
        batch_dir=batch,
        stream_dir=stream,
        out_dir=tmp_path / "report",
        ledger=ledger,
        partners_dir=PARTNERS_DIR,
        now=pd.AT,
    )
    assert asked == [pd.SINCE]


def test_user_mistakes_are_one_line(tmp_path: Path) -> None:
    batch, stream = _dirs(tmp_path)
    with pytest.raises(ParityError, match="was cut off at 2026-03-02T14:25:09"):
        _run(batch, stream, tmp_path / "r", at=pd.AT + timedelta(hours=1))
    _run(batch, stream, tmp_path / "r", at=pd.AT + timedelta(milliseconds=300))
    with pytest.raises(ParityError, match="no batch manifest"):
        _run(stream, stream, tmp_path / "r")
    with pytest.raises(ParityError, match="no such directory"):
        _run(batch, tmp_path / "nowhere", tmp_path / "r")
    (batch / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(ParityError, match="format"):
        _run(batch, stream, tmp_path / "r")
