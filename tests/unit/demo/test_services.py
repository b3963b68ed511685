"""``scv run``'s children: start, exit words, give-up on a usage error, stop; with a fake Popen
at the process boundary."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from demo.services import SCV, SERVICES, ServiceChild, children, describe_exit
from demo.settings import ServicesSettings
from stack.supervision import Backoff, GiveUp, Supervisor


class FakeProc:
    """What ``subprocess.Popen`` gives back, as far as a ``ServiceChild`` uses it."""

    pids = iter(range(4000, 5000))

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        self.argv, self.kwargs = argv, kwargs
        self.pid = next(self.pids)
        self.returncode: int | None = None
        self.signals: list[int] = []
        self.ignores_term = False

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if not self.ignores_term:
            self.returncode = -sig

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.argv, timeout or 0)
        return self.returncode

    def kill(self) -> None:
        self.returncode = -signal.SIGKILL


def child(tmp_path: Path, name: str = "pipeline") -> tuple[ServiceChild, list[FakeProc]]:
    started: list[FakeProc] = []

    def popen(argv: list[str], **kwargs: Any) -> FakeProc:
        started.append(FakeProc(argv, **kwargs))
        return started[-1]

    made = ServiceChild(name, [*SCV, *SERVICES[name]], tmp_path / f"{name}.log", popen=popen)  # type: ignore[arg-type]
    return made, started


def test_default_services_are_the_pipeline_and_the_views(tmp_path: Path) -> None:
    made = children(ServicesSettings(log_dir=tmp_path))
    assert [(c.name, c.argv[-2:]) for c in made] == [
        ("pipeline", ["pipeline", "run"]),
        ("views", ["views", "run"]),
    ]
    assert [c.log for c in made] == [tmp_path / "pipeline.log", tmp_path / "views.log"]


def test_children_come_in_start_order_whatever_the_order_asked(tmp_path: Path) -> None:
    settings = ServicesSettings(services=("console", "edi", "pipeline"), log_dir=tmp_path)
    assert [c.name for c in children(settings)] == ["pipeline", "edi", "console"]


def test_a_child_runs_in_its_own_session_and_appends_to_its_log(tmp_path: Path) -> None:
    made, started = child(tmp_path)
    made.start()
    made.start()
    assert started[0].kwargs["start_new_session"] is True
    assert started[0].argv == [*SCV, "pipeline", "run"]
    assert made.log.read_text().count("==== scv run: start") == 2


def test_exit_detail_says_how_it_ended(tmp_path: Path) -> None:
    made, started = child(tmp_path)
    assert made.exit_detail() == ""
    made.start()
    assert made.alive()
    started[0].returncode = -signal.SIGKILL
    assert not made.alive()
    assert made.exit_detail() == "killed by SIGKILL"
    assert describe_exit(75) == "exit code 75"


def test_a_usage_error_is_not_restarted(tmp_path: Path) -> None:
    made, started = child(tmp_path, "views")
    made.start()
    started[0].returncode = 2
    with pytest.raises(GiveUp, match=r"views: exited with code 2 .*views\.log"):
        made.start()
    assert len(started) == 1


def test_a_killed_child_comes_back_under_the_supervisor(tmp_path: Path) -> None:
    made, started = child(tmp_path)
    made.start()
    now = [0.0]
    supervisor = Supervisor([made], clock=lambda: now[0], backoff=Backoff(initial_s=1.0))
    started[0].returncode = -signal.SIGKILL
    assert [e.what for e in supervisor.tick()] == ["died"]
    now[0] = 1.0
    assert [e.what for e in supervisor.tick()] == ["restarted"]
    assert len(started) == 2
    assert made.alive()


def test_stop_sends_sigterm_then_kills_a_child_that_does_not_exit(tmp_path: Path) -> None:
    made, started = child(tmp_path)
    assert made.stop(1.0) == "never started"
    made.start()
    assert made.stop(1.0) == "killed by SIGTERM"
    assert started[0].signals == [signal.SIGTERM]
    made.start()
    started[1].ignores_term = True
    assert made.stop(1.0) == "killed after 1s without exiting on SIGTERM"
    assert started[1].returncode == -signal.SIGKILL
