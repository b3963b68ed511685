"""The restart schedule and decisions of ``stack.supervision``, with fake children and clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from stack.supervision import Backoff, GiveUp, Supervisor


def test_backoff_doubles_from_initial_and_stops_at_max() -> None:
    backoff = Backoff(initial_s=1.0, factor=2.0, max_s=10.0)
    assert [backoff.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_of_a_long_crash_loop_stays_at_max() -> None:
    # factor**5000 would overflow a float: the cap comes first.
    assert Backoff(initial_s=0.5, max_s=60.0).delay(5000) == 60.0


def test_backoff_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="restarts must be >= 0"):
        Backoff().delay(-1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeChild:
    """A process at the boundary: dies when told, counts its starts, may refuse one."""

    name: str
    running: bool = True
    starts: int = 0
    refuse: list[Exception] = field(default_factory=list)

    def alive(self) -> bool:
        return self.running

    def exit_detail(self) -> str:
        return "killed by SIGKILL"

    def start(self) -> None:
        if self.refuse:
            raise self.refuse.pop(0)
        self.starts += 1
        self.running = True


def make(clock: Clock, *children: FakeChild, **backoff: float) -> Supervisor:
    return Supervisor(list(children), backoff=Backoff(**backoff), clock=clock)


def test_a_live_child_is_left_alone() -> None:
    clock, child = Clock(), FakeChild("connect")
    supervisor = make(clock, child)
    for _ in range(5):
        clock.now += 10
        assert supervisor.tick() == []
    assert child.starts == 0


def test_a_dead_child_is_restarted_once_its_delay_has_passed() -> None:
    clock, child = Clock(), FakeChild("connect")
    supervisor = make(clock, child, initial_s=2.0)
    child.running = False
    events = supervisor.tick()
    assert [(e.name, e.what) for e in events] == [("connect", "died")]
    assert "killed by SIGKILL" in events[0].detail
    assert "restart in 2.0s" in events[0].detail
    clock.now += 1.9
    assert supervisor.tick() == []
    assert child.starts == 0
    clock.now += 0.1
    assert [e.what for e in supervisor.tick()] == ["restarted"]
    assert child.starts == 1
    assert supervisor.tracks["connect"].restarts_total == 1


def test_deaths_in_a_row_wait_longer_each_time() -> None:
    clock, child = Clock(), FakeChild("kafka")
    supervisor = make(clock, child, initial_s=1.0, factor=2.0, max_s=5.0, stable_s=100.0)
    waits = []
    for _ in range(5):
        child.running = False
        died_at = clock.now
        supervisor.tick()
        while child.starts == len(waits):
            clock.now += 0.25
            supervisor.tick()
        waits.append(clock.now - died_at)
        clock.now += 1  # up a second, far below stable_s: the next death is "in a row"
        supervisor.tick()
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_child_up_for_stable_s_starts_the_schedule_again() -> None:
    clock, child = Clock(), FakeChild("postgres")
    supervisor = make(clock, child, initial_s=1.0, stable_s=30.0)
    for _ in range(3):
        child.running = False
        supervisor.tick()
        clock.now += 60  # past any delay
        supervisor.tick()
    assert supervisor.tracks["postgres"].restarts_in_row == 3
    clock.now += 30
    assert [e.what for e in supervisor.tick()] == ["recovered"]
    child.running = False
    assert "restart in 1.0s" in supervisor.tick()[0].detail


def test_a_failed_start_is_retried_later_with_a_longer_delay() -> None:
    clock = Clock()
    child = FakeChild("mariadb", refuse=[OSError("port in use")])
    supervisor = make(clock, child, initial_s=1.0)
    child.running = False
    supervisor.tick()
    clock.now += 1
    failed = supervisor.tick()
    assert [e.what for e in failed] == ["restart failed"]
    assert "port in use" in failed[0].detail
    assert "next try in 2.0s" in failed[0].detail
    clock.now += 1.5
    assert supervisor.tick() == []
    clock.now += 0.5
    assert [e.what for e in supervisor.tick()] == ["restarted"]
    assert child.starts == 1


def test_only_the_dead_child_is_restarted() -> None:
    clock = Clock()
    kafka, connect = FakeChild("kafka"), FakeChild("connect")
    supervisor = make(clock, kafka, connect, initial_s=1.0)
    connect.running = False
    supervisor.tick()
    clock.now += 1
    supervisor.tick()
    assert (kafka.starts, connect.starts) == (0, 1)


def test_give_up_stops_the_supervisor() -> None:
    clock = Clock()
    child = FakeChild("pipeline", refuse=[GiveUp("pipeline: exited with code 2")])
    supervisor = make(clock, child, initial_s=1.0)
    child.running = False
    supervisor.tick()
    clock.now += 1
    with pytest.raises(GiveUp, match="code 2"):
        supervisor.tick()


def test_a_bug_in_start_is_not_swallowed() -> None:
    clock = Clock()
    child = FakeChild("views", refuse=[TypeError("a bug")])
    supervisor = make(clock, child, initial_s=1.0)
    child.running = False
    supervisor.tick()
    clock.now += 1
    with pytest.raises(TypeError):
        supervisor.tick()
