"""Where B4's latency goes: each matched event's source commit → visible split into hops.

For one canonical event (``matching.Match``) the bench knows, all on this host's clock:

- the source commit (the ledger, ``time.time_ns()`` after COMMIT returned);
- its raw record's Kafka timestamp (CreateTime, set by Connect's producer) and when a bare
  consumer of the raw topic was handed it (``probe.SeenProbe``);
- when the runner's ``consume`` returned that raw record (the ``scv_trace`` header);
- when the runner produced the event (the canonical record's CreateTime);
- when a ``read_uncommitted`` reader was handed it (it reached the log) and when the
  ``read_committed`` reader was (its transaction committed).

The hops, which add up to the whole latency of each event:

    capture         commit → raw record timestamp       (Debezium: log read, poll interval)
    raw_to_consume  raw timestamp → runner's consume    (append, the runner's fetch, its wait)
    runner_batch    consume → produce                   (map, gate, the previous commit)
    produce_fetch   produce → readable uncommitted      (linger, produce, a reader's fetch)
    commit          readable uncommitted → committed    (the rest of the transaction's commit)

and, beside them, the floor: commit → the raw record handed to a bare consumer (what Debezium
and Kafka take before any code of this project runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bench import stats
from bench.matching import Match

HOPS = ("capture", "raw_to_consume", "runner_batch", "produce_fetch", "commit")

#: (topic, partition, offset) → (seen ns, CreateTime ns or None).
Seen = Mapping[tuple[str, int, int], tuple[int, int | None]]


def split(
    matches: Iterable[Match], raw: Seen, uncommitted: Seen
) -> tuple[dict[str, list[float]], list[float]]:
    """Per hop, the ms of every fully traced event; and the floor (ms) of each raw record
    those events came from (once per raw record: one change may give several events)."""
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    floor: dict[tuple[str, int, int], float] = {}
    for m in matches:
        trace, position, produced = m.arrival.trace, m.arrival.position, m.arrival.produced_ns
        if trace is None or position is None or produced is None:
            continue
        raw_position = (trace.raw_topic, trace.raw_partition, trace.raw_offset)
        raw_seen = raw.get(raw_position)
        log_seen = uncommitted.get(position)
        if raw_seen is None or log_seen is None:
            continue
        raw_seen_ns, raw_created = raw_seen
        if raw_created is None:
            continue
        commit = m.commit_ns
        readable = log_seen[0]
        # A reader handed the record read_committed before read_uncommitted did (two
        # consumers, two fetch loops): the commit hop is then 0, not negative.
        readable = min(readable, m.arrival.arrival_ns)
        for hop, ns in zip(
            HOPS,
            (
                raw_created - commit,
                trace.consumed_ns - raw_created,
                produced - trace.consumed_ns,
                readable - produced,
                m.arrival.arrival_ns - readable,
            ),
            strict=True,
        ):
            hops[hop].append(ns / 1e6)
        floor[raw_position] = (raw_seen_ns - commit) / 1e6
    return hops, list(floor.values())


def summary(
    matches: Iterable[Match], raw: Seen, uncommitted: Seen, p99_ms: float | None
) -> dict[str, Any]:
    """The split as it goes into B4's JSON: p50/p95/p99 per hop, the floor and the pipeline's
    p99 minus the floor's p99."""
    hops, floor = split(matches, raw, uncommitted)
    traced = len(hops["capture"])
    floor_summary = stats.summarize_ms(floor)
    return {
        "traced_events": traced,
        **{hop: _parts(stats.summarize_ms(values)) for hop, values in hops.items()},
        "floor_ms": floor_summary.as_dict() if floor_summary else None,
        "p99_minus_floor_ms": (
            round(p99_ms - floor_summary.p99_ms, 1)
            if p99_ms is not None and floor_summary is not None
            else None
        ),
    }


def _parts(summary_: stats.Summary | None) -> dict[str, float] | None:
    if summary_ is None:
        return None
    return {"p50": summary_.p50_ms, "p95": summary_.p95_ms, "p99": summary_.p99_ms}
