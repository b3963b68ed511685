"""Peak memory of the processes under test, sampled from ``/proc`` while the benchmark runs.

Each role (``kafka``, ``connect``, ``postgres``, ``mariadb``, ``runner``, ``passthrough``) is
one or more root pids; a role's memory is the sum over the roots and all their descendants
(PostgreSQL is a postmaster with one backend per connection). Two figures per role:

- ``rss``: resident set size (``VmRSS``) summed over the tree. Shared pages (PostgreSQL's
  shared buffers) count once per process that touched them, so this overstates a tree.
- ``pss``: proportional set size (``Pss`` of ``smaps_rollup``): shared pages divided among the
  processes sharing them, so a tree's sum is what it really costs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def _kib_field(text: str, name: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


def parse_status_rss_kib(status_text: str) -> int | None:
    """``VmRSS`` from ``/proc/<pid>/status`` (kernel threads have none)."""
    return _kib_field(status_text, "VmRSS")


def parse_pss_kib(smaps_rollup_text: str) -> int | None:
    return _kib_field(smaps_rollup_text, "Pss")


def parse_ppid(stat_text: str) -> int:
    """Parent pid from ``/proc/<pid>/stat`` (the command may hold spaces and parentheses)."""
    after = stat_text[stat_text.rindex(")") + 2 :]
    return int(after.split()[1])


def children_map(proc: Path = PROC) -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = parse_ppid((entry / "stat").read_text())
        except (OSError, ValueError):
            continue  # the process ended while we looked
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(roots: Iterable[int], tree: Mapping[int, list[int]]) -> list[int]:
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(tree.get(pid, []))
    return seen


@dataclass(frozen=True, slots=True)
class Sample:
    processes: int
    rss_kib: int
    pss_kib: int


def sample(pids: Iterable[int], proc: Path = PROC) -> Sample:
    count = rss = pss = 0
    for pid in pids:
        try:
            status = (proc / str(pid) / "status").read_text()
            rollup = (proc / str(pid) / "smaps_rollup").read_text()
        except OSError:
            continue  # ended, or not ours to read
        found = parse_status_rss_kib(status)
        if found is None:
            continue
        count += 1
        rss += found
        pss += parse_pss_kib(rollup) or 0
    return Sample(count, rss, pss)


@dataclass(slots=True)
class Peak:
    processes: int = 0
    rss_kib: int = 0
    pss_kib: int = 0
    samples: int = 0

    def add(self, found: Sample) -> None:
        if found.processes == 0:
            return
        self.samples += 1
        self.processes = max(self.processes, found.processes)
        self.rss_kib = max(self.rss_kib, found.rss_kib)
        self.pss_kib = max(self.pss_kib, found.pss_kib)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "processes": self.processes,
            "peak_rss_mib": round(self.rss_kib / 1024, 1),
            "peak_pss_mib": round(self.pss_kib / 1024, 1),
            "samples": self.samples,
        }


@dataclass
class MemorySampler:
    """Samples every role every ``interval`` seconds in a daemon thread until ``stop``."""

    interval: float = 0.5
    roles: dict[str, set[int]] = field(default_factory=dict)
    peaks: dict[str, Peak] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def watch(self, role: str, pid: int) -> None:
        with self._lock:
            self.roles.setdefault(role, set()).add(pid)
            self.peaks.setdefault(role, Peak())

    def sample_now(self) -> None:
        tree = children_map()
        with self._lock:
            roles = {role: set(pids) for role, pids in self.roles.items()}
        for role, pids in roles.items():
            alive = [pid for pid in pids if (PROC / str(pid)).exists()]
            self.peaks[role].add(sample(descendants(alive, tree)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_now()

    def stop(self) -> dict[str, dict[str, float | int]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sample_now()
        return {role: peak.as_dict() for role, peak in sorted(self.peaks.items())}


def machine() -> dict[str, object]:
    """nproc, memory, load average, kernel: what the figures were measured on."""
    meminfo = (PROC / "meminfo").read_text()
    total = _kib_field(meminfo, "MemTotal") or 0
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(total / 1024 / 1024, 1),
        "loadavg": [round(x, 2) for x in load],
        "kernel": os.uname().release,
    }
