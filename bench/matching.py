"""Match canonical events seen on Kafka to the ledger entries that must have produced them.

The simulator's ledger records, for every committed business transaction, the commit time in
each database (``time.time_ns()`` right after COMMIT returned) and the canonical events it must
produce as ``(type, aggregate key)``. A canonical record carries its type in the ``ce_type``
header, its aggregate key as the Kafka key, and its source system in ``ce_source``
(``/erp/...`` or ``/wms/...``). Matching is per ``(type, key)``:

- ledger entries are taken in commit order, arrivals in arrival order;
- each entry takes the earliest unused arrival that came after its commit in the arrival's
  source database (an event cannot be seen before its change committed);
- latency = arrival time - that commit time.

Entries whose type has no canonical event (the ledger also lists derived facts such as
``inventory.level_changed``) are not expected; arrivals without an entry (another engineer's
writes, extra events per entry) stay unmatched and are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Expected:
    """One canonical event the ledger says a committed transaction must produce."""

    event_type: str
    key: str
    #: Commit time per database (``erp``/``wms``), ns since the epoch.
    commit_ns: Mapping[str, int]
    seq: int = 0

    @property
    def first_commit_ns(self) -> int:
        return min(self.commit_ns.values())

    def commit_for(self, system: str) -> int:
        """Commit time of the database the event came from (last commit if unknown)."""
        found = self.commit_ns.get(system)
        return found if found is not None else max(self.commit_ns.values())


@dataclass(frozen=True, slots=True)
class Trace:
    """A canonical record's ``scv_trace`` header: its raw record, and when the runner's
    ``consume`` returned it (ns since the epoch)."""

    raw_topic: str
    raw_partition: int
    raw_offset: int
    consumed_ns: int


@dataclass(frozen=True, slots=True)
class Arrival:
    """A canonical record as seen by a ``read_committed`` consumer."""

    event_type: str
    key: str
    system: str
    arrival_ns: int
    #: The record's Kafka timestamp (CreateTime: when the runner produced it), ns.
    produced_ns: int | None = None
    #: (topic, partition, offset) of the canonical record.
    position: tuple[str, int, int] | None = None
    #: The runner's trace header (``trace_hops``), if it wrote one.
    trace: Trace | None = None


@dataclass(frozen=True, slots=True)
class Match:
    expected: Expected
    arrival: Arrival

    @property
    def commit_ns(self) -> int:
        return self.expected.commit_for(self.arrival.system)

    @property
    def latency_ms(self) -> float:
        return (self.arrival.arrival_ns - self.commit_ns) / 1e6

    @property
    def to_produced_ms(self) -> float | None:
        """Source commit → the runner produced the event (CDC, raw topic, transform)."""
        produced = self.arrival.produced_ns
        return None if produced is None else (produced - self.commit_ns) / 1e6

    @property
    def to_visible_ms(self) -> float | None:
        """Produced → seen by a read_committed reader (transaction commit, fetch)."""
        produced = self.arrival.produced_ns
        return None if produced is None else (self.arrival.arrival_ns - produced) / 1e6


@dataclass(slots=True)
class MatchResult:
    matches: list[Match] = field(default_factory=list)
    missing: list[Expected] = field(default_factory=list)
    unmatched_arrivals: int = 0
    expected_by_type: dict[str, int] = field(default_factory=dict)
    matched_by_type: dict[str, int] = field(default_factory=dict)


def expected_from_ledger(rows: Iterable[Mapping[str, Any]], types: Iterable[str]) -> list[Expected]:
    """Expected canonical events of committed, passing ledger transactions.

    ``rows`` are ``sim.transactions`` rows (``seq``, ``committed``, ``verdict``,
    ``erp_commit_ns``, ``wms_commit_ns``, ``events``); ``types`` the canonical event types.
    Anomalies the gate must quarantine are left out: their events never reach a canonical topic.
    """
    known = set(types)
    out: list[Expected] = []
    for row in rows:
        if not row["committed"] or row.get("verdict", "pass") != "pass":
            continue
        commits = {
            db: int(ns)
            for db, ns in (("erp", row.get("erp_commit_ns")), ("wms", row.get("wms_commit_ns")))
            if ns is not None
        }
        if not commits:
            continue
        for event in row["events"] or []:
            event_type = str(event.get("type", ""))
            if event_type in known and event.get("key") is not None:
                out.append(Expected(event_type, str(event["key"]), commits, int(row["seq"])))
    return out


def match(expected: Sequence[Expected], arrivals: Sequence[Arrival]) -> MatchResult:
    """Pair ledger entries with arrivals (see the module docstring)."""
    result = MatchResult()
    by_key: dict[tuple[str, str], list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        by_key[(arrival.event_type, arrival.key)].append(arrival)
    for found in by_key.values():
        found.sort(key=lambda a: a.arrival_ns)
    entries: dict[tuple[str, str], list[Expected]] = defaultdict(list)
    for entry in expected:
        entries[(entry.event_type, entry.key)].append(entry)
        result.expected_by_type[entry.event_type] = (
            result.expected_by_type.get(entry.event_type, 0) + 1
        )
    used = 0
    for group_key, group in entries.items():
        group.sort(key=lambda e: (e.first_commit_ns, e.seq))
        candidates = by_key.get(group_key, [])
        taken = [False] * len(candidates)
        for entry in group:
            for i, arrival in enumerate(candidates):
                if not taken[i] and arrival.arrival_ns >= entry.commit_for(arrival.system):
                    taken[i] = True
                    used += 1
                    result.matches.append(Match(entry, arrival))
                    result.matched_by_type[entry.event_type] = (
                        result.matched_by_type.get(entry.event_type, 0) + 1
                    )
                    break
            else:
                result.missing.append(entry)
    result.unmatched_arrivals = len(arrivals) - used
    return result


def system_of(ce_source: str) -> str:
    """``/erp/proddta`` → ``erp``."""
    return ce_source.strip("/").split("/", 1)[0]
