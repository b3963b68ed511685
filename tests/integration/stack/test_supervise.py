"""``scv stack up --supervise``: a Connect worker killed with ``kill -9`` comes back by itself.

The test starts the supervisor on the running stack (``up`` is idempotent: the components are
left as they are), kills the worker, and waits: no ``scv stack up``, no manual step. The
connectors must run again (their configs and offsets live in Kafka). At the end it stops the
supervisor only, so the stack is as the test found it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import pytest
from chain import await_connectors_running, kill_component, scv

from stack import launcher, supervisor
from stack.settings import StackSettings


@pytest.fixture
def supervised(
    stack_settings: StackSettings, endpoints: dict[str, str]
) -> Iterator[dict[str, str]]:
    env = {**os.environ, **endpoints}
    was_running = supervisor.pid_file(stack_settings).running() is not None
    out = scv(env, "stack", "up", "--supervise", timeout=300)
    assert "supervisor: " in out, out
    yield env
    if not was_running:
        supervisor.shut_down(stack_settings)
    scv(env, "stack", "up", timeout=300)  # whatever failed, the next test finds the stack up


def _connect_pid(settings: StackSettings) -> int | None:
    for component in launcher.components(settings):
        if component.name == "connect":
            running = component.pid_file.running()
            return None if running is None else running.pid
    raise AssertionError("no connect component")


def test_connect_killed_is_restarted_and_its_connectors_run_again(
    stack_settings: StackSettings, supervised: dict[str, str], connectors_applied: None
) -> None:
    env = supervised
    before = _connect_pid(stack_settings)
    assert before is not None
    log = supervisor.log_path(stack_settings)
    seen = log.read_text().count("connect: restarted")
    killed = time.monotonic()
    kill_component(stack_settings, "connect")
    deadline = killed + 60
    while (after := _connect_pid(stack_settings)) in (None, before):
        assert time.monotonic() < deadline, f"connect not restarted in 60 s:\n{log.read_text()}"
        time.sleep(0.2)
    restarted_s = time.monotonic() - killed
    lines = log.read_text()
    assert lines.count("connect: restarted") == seen + 1, lines
    assert "connect: died" in lines, lines
    running_s = await_connectors_running(env, timeout=240)
    row = next(r for r in launcher.status(stack_settings) if r.name == "connect")
    assert row.state == "running", row
    assert "by the supervisor" in (row.detail or ""), row
    sys.stderr.write(
        f"connect: restarted {restarted_s:.1f}s after kill -9 (pid {before} -> {after}), "
        f"connectors RUNNING {running_s:.1f}s later\n"
    )


def test_status_shows_the_supervisor_and_the_restart(
    stack_settings: StackSettings, supervised: dict[str, str]
) -> None:
    rows = {r.name: r for r in launcher.status(stack_settings)}
    row = launcher.supervisor_status(stack_settings)
    assert row.state == "running", row
    tracked = supervisor.pid_file(stack_settings).running()
    assert tracked is not None
    assert row.pid == tracked.pid
    record = supervisor.read_record(stack_settings)
    assert set(record) == set(rows), record
