"""Pure statistics of the benchmark: percentiles, summaries, trend, rates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation between closest ranks.

    Same definition as numpy's default (``method="linear"``).

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs``; 0 when it is undefined."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    n = len(xs)
    if n < 2:
        return 0.0
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def rate(count: float, seconds: float) -> float:
    """``count / seconds``, 0 for an empty interval."""
    return count / seconds if seconds > 0 else 0.0


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True, slots=True)
class Summary:
    """Latency summary in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize_ms(values_ms: Sequence[float]) -> Summary | None:
    if not values_ms:
        return None
    return Summary(
        count=len(values_ms),
        p50_ms=round(percentile(values_ms, 50), 1),
        p95_ms=round(percentile(values_ms, 95), 1),
        p99_ms=round(percentile(values_ms, 99), 1),
        max_ms=round(max(values_ms), 1),
        mean_ms=round(sum(values_ms) / len(values_ms), 1),
    )


@dataclass(frozen=True, slots=True)
class Trend:
    """Does latency grow over a steady-rate step? ``slope`` is ms of latency per s of time."""

    slope_ms_per_s: float
    growth_ms: float
    grows: bool


#: Latency that rises by more than this over a step means the pipeline is falling behind.
GROWTH_LIMIT_MS = 250.0


def trend(times_s: Sequence[float], latencies_ms: Sequence[float]) -> Trend:
    """Fit latency against commit time; growth = slope times the span of the step.

    A pipeline that keeps up has a flat latency (slope ≈ 0); one that processes a share ``r``
    of the input rate falls behind by ``(1 - r)`` seconds per second, a slope of
    ``1000 * (1 - r)`` ms/s. ``grows`` when the fitted rise over the step exceeds
    ``GROWTH_LIMIT_MS``.
    """
    k = slope(times_s, latencies_ms)
    span = (max(times_s) - min(times_s)) if times_s else 0.0
    growth = k * span
    return Trend(round(k, 2), round(growth, 1), growth > GROWTH_LIMIT_MS)
