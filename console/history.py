"""On-hand history per site x item, for the stock page's sparklines.

The serving table holds only the present; the past is in the canonical topics. One read of
them (``views.process.read_event`` per record, the views' ``Book`` arithmetic) is merged across
partitions by record timestamp (each partition keeps its own order) and sampled: the on-hand
of every position at ``points`` evenly spaced times from the first record to ``until``. The
last sample is the position after every record read, what ``scv inventory show --as-of``
at ``until`` gives.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from transforms.events import CanonicalEvent
from views.positions import Book, Key

#: One partition's events in offset order, each with its record timestamp (ms).
Timed = tuple[int, CanonicalEvent]


@dataclass(frozen=True, slots=True)
class History:
    """Sample times (epoch ms) and, per position, its on-hand at each of them."""

    times: tuple[int, ...]
    on_hand: dict[Key, tuple[Decimal, ...]]


def sample_times(first_ms: int, until_ms: int, points: int) -> tuple[int, ...]:
    """``points`` times from ``first_ms`` to ``until_ms``, both included, evenly spaced."""
    if points < 2 or until_ms <= first_ms:
        return (max(first_ms, until_ms),)
    step = (until_ms - first_ms) / (points - 1)
    return (*(round(first_ms + i * step) for i in range(points - 1)), until_ms)


def on_hand_history(partitions: Iterable[Sequence[Timed]], until_ms: int, points: int) -> History:
    """Replay ``partitions`` merged by timestamp and sample each position's on-hand."""
    streams = [list(p) for p in partitions if p]
    if not streams:
        return History((), {})
    first = min(s[0][0] for s in streams)
    times = sample_times(first, max(until_ms, max(s[-1][0] for s in streams)), points)
    book = Book()
    seen: set[uuid.UUID] = set()
    samples: dict[Key, list[Decimal]] = {}
    merged = heapq.merge(*streams, key=lambda timed: timed[0])
    pending: Timed | None = next(merged, None)
    for index, at in enumerate(times):
        while pending is not None and pending[0] <= at:
            event = pending[1]
            if event.event_id not in seen:  # an event emitted twice counts once, as in views
                seen.add(event.event_id)
                book.apply(event)
            pending = next(merged, None)
        for key, position in book.positions.items():
            samples.setdefault(key, [Decimal(0)] * index).append(position.on_hand)
    return History(times, {key: tuple(values) for key, values in samples.items()})


def sparkline(values: Sequence[Decimal], *, width: int = 120, height: int = 24) -> str:
    """An inline SVG polyline of ``values`` (no script, no style attribute)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{float(height - 2 - (v - low) / span * (height - 4)):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="on hand from {low:f} to {high:f}, now {values[-1]:f}">'
        f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        "</svg>"
    )
