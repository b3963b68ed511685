"""The stack supervisor's view of a component (by its pid file) and its status row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from stack import launcher, supervisor
from stack.components.connect import ConnectWorker
from stack.credentials import load_or_create
from stack.errors import StackError
from stack.settings import StackSettings
from stack.state import create
from stack.supervisor import ComponentChild, Reaper, exit_detail


def settings(tmp_path: Path) -> StackSettings:
    made = StackSettings(state_dir=tmp_path / "state")
    create(made)
    return made


def test_a_component_without_a_pid_file_is_not_the_supervisors_to_start(tmp_path: Path) -> None:
    s = settings(tmp_path)
    child = ComponentChild(ConnectWorker(s, load_or_create(s.state_dir)), Reaper())
    assert child.alive()  # never started by `up`, or stopped by `down`: left alone
    assert child.exit_detail() == ""


def test_a_pid_file_naming_a_gone_process_is_a_death(tmp_path: Path) -> None:
    s = settings(tmp_path)
    worker = ConnectWorker(s, load_or_create(s.state_dir))
    worker.pid_file.write(os.getpid())
    child = ComponentChild(worker, Reaper())
    assert child.alive()
    # The same pid with another start time: a recycled pid, not ours.
    pid, started = worker.pid_file.path.read_text().split()
    worker.pid_file.path.write_text(f"{pid} {int(started) + 1}\n")
    assert not child.alive()
    assert child.exit_detail() == f"pid {pid} gone"


def test_exit_detail_words_a_wait_status() -> None:
    assert exit_detail(signal.SIGKILL) == "killed by SIGKILL"  # a signal's raw wait status
    assert exit_detail(3 << 8) == "exit code 3"


def test_status_row_is_off_until_asked_then_down_when_it_died(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert launcher.supervisor_status(s).state == "off"
    supervisor.pid_file(s).write(os.getpid())
    row = launcher.supervisor_status(s)
    assert (row.state, row.pid) == ("running", os.getpid())
    pid, started = supervisor.pid_file(s).path.read_text().split()
    supervisor.pid_file(s).path.write_text(f"{pid} {int(started) + 1}\n")
    assert launcher.supervisor_status(s).state == "down"


def test_status_names_the_restarts_the_supervisor_made(tmp_path: Path) -> None:
    s = settings(tmp_path)
    supervisor.record_path(s).write_text(
        '{"connect": {"restarts": 2, "last_restart": "2026-12-04T17:00:00",'
        ' "last_exit": "killed by SIGKILL"}}'
    )
    rows = {r.name: r for r in launcher.status(s)}
    assert rows["connect"].detail == (
        "restarted 2x by the supervisor, last 2026-12-04T17:00:00 after killed by SIGKILL"
    )
    assert rows["kafka"].detail is None


def test_shut_down_forgets_the_restarts_of_its_supervision(tmp_path: Path) -> None:
    s = settings(tmp_path)
    supervisor.record_path(s).write_text('{"connect": {"restarts": 1}}')
    # A pid file naming a gone process: nothing to signal, the files go.
    supervisor.pid_file(s).path.write_text("999999999 1\n")
    assert supervisor.shut_down(s) is False
    assert not supervisor.pid_file(s).path.exists()
    assert supervisor.read_record(s) == {}


def _fake_supervisor(code: str) -> Callable[..., int]:
    """``spawn`` for ``launch``: a child running ``code`` with the record's path as argv[1]."""

    def spawn(argv: Sequence[str], *, log: Path, **_: object) -> int:
        record = argv[argv.index("--settings-json") + 1]
        path = supervisor.record_path(StackSettings.model_validate_json(record))
        child = subprocess.Popen([sys.executable, "-c", code, str(path)])
        _children.append(child)
        return child.pid

    return spawn


_children: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _reap_children() -> Iterator[None]:
    yield
    while _children:
        child = _children.pop()
        child.kill()
        child.wait()


def test_up_supervise_returns_once_the_supervisor_has_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings(tmp_path)
    supervisor.record_path(s).write_text('{"stale": {}}')  # an earlier supervisor's
    slow = (
        "import pathlib, sys, time; time.sleep(0.6); "
        "pathlib.Path(sys.argv[1]).write_text('{\"kafka\": {}}'); time.sleep(60)"
    )
    monkeypatch.setattr(supervisor, "spawn", _fake_supervisor(slow))
    supervisor.launch(s)
    assert supervisor.read_record(s) == {"kafka": {}}


def test_a_supervisor_that_dies_at_start_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings(tmp_path)
    monkeypatch.setattr(supervisor, "spawn", _fake_supervisor("raise SystemExit(1)"))
    with pytest.raises(StackError, match="the supervisor exited at start"):
        supervisor.launch(s)
