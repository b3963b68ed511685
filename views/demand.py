"""Demand sensing: order rate per item x site (and per region) against a seasonal baseline.

What is measured: **ordered quantity** (base unit) of ``order.placed`` lines per time bucket
of ``bucket`` length (event time), per series: ``site|item`` for every line, and
``region:<name>`` (all items) when the order's ship-to maps to a region (``regions``: the
canonical events carry the ship-to's address number, not its geography, so the map is a
setting). Gross demand: what customers asked for, before cancellations. Lines read by a
snapshot are history, not a rate, and are not counted.

Baseline: per series and **season slot** (``bucket index mod season``: with one-hour
buckets and ``season = 168`` the slot is the hour of the week, so Monday 09:00 is compared
with earlier Mondays 09:00, not with Sunday night), an exponentially weighted mean and
variance of the bucket totals (West's incremental form, weight ``alpha``):

    d = x - mean;  mean += alpha * d;  var = (1 - alpha) * (var + alpha * d * d)

Why EWMA per slot: order rates have a strong weekly pattern, and a plain mean across slots
would call every Monday morning a spike; EWMA forgets old weeks geometrically, so a lasting
change of level becomes the new normal after about ``1 / alpha`` seasons, and the state is
two floats per slot (bounded), not a history. With ``season = 1`` it is one EWMA over all
buckets (short demos and tests, where there is no week to learn).

A bucket is **closed** when the order topic's low watermark (``views.clocks``: the smallest
event time among its partitions, never the largest) passes its end; a series with no order
in a closed bucket observes 0 (a drop is a run of low buckets). Each closed bucket x is
judged **before** it enters the baseline:

    sd = max(sqrt(var), min_sd);   z = (x - mean) / sd

only once the slot holds ``min_history`` observations (warm-up). After the warm-up, x enters
the baseline **clipped** to mean ± threshold x sd (a Huber-type update): unclipped, the first
bucket of a spike inflates the variance so much that the second no longer stands out, and a
sustained shift could never be told from noise; clipped, the baseline still follows a lasting
change, at most threshold x sd x alpha per bucket. ``demand.shift`` is raised
when ``sustain`` consecutive closed buckets have z >= threshold (direction ``up``) or
z <= -threshold (``down``), once per episode; it is resolved after ``sustain`` consecutive
buckets back inside the threshold in that direction. The baseline keeps learning (clipped)
during an episode: a lasting shift ends its episode once it is the new normal. Detection delay =
alert's event time - end of the first bucket of the run: at least ``sustain`` buckets.

Bounded state: per series the slots (at most ``season``), the open buckets (those the
watermark has not passed) and the run counters; a gap of more than ``max_fill`` buckets
is not filled with zeros bucket by bucket (the slots' means would decay the same way, only
slower to compute): the series folds the last ``max_fill`` of them. A series without an
order for ``retire_after`` of watermark time is dropped (if the item sells again it starts
a new warm-up). An order line whose bucket is already closed (read after the watermark
passed it: a partition read behind the others) counts in the oldest open bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from transforms.events import CanonicalEvent, OrderPlaced
from views.alerts import Alert, Monitor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemandPolicy:
    bucket: timedelta = timedelta(hours=1)
    season: int = 168
    alpha: float = 0.1
    threshold: float = 3.0
    sustain: int = 3
    min_history: int = 3
    min_sd: float = 1.0
    retire_after: timedelta = timedelta(days=28)
    regions: Mapping[str, str] = field(default_factory=dict)

    @property
    def max_fill(self) -> int:
        return 2 * self.season + self.sustain

    def index(self, moment: datetime) -> int:
        return int((moment - EPOCH) // self.bucket)

    def start(self, index: int) -> datetime:
        return EPOCH + index * self.bucket


def ewma(mean: float, var: float, x: float, alpha: float) -> tuple[float, float]:
    """One observation into an exponentially weighted mean and variance."""
    d = x - mean
    mean += alpha * d
    var = (1 - alpha) * (var + alpha * d * d)
    return mean, var


def zscore(x: float, mean: float, var: float, min_sd: float) -> float:
    return (x - mean) / max(math.sqrt(max(var, 0.0)), min_sd)


@dataclass(slots=True)
class Series:
    key: str
    #: Open buckets (index → quantity): the watermark has not passed their end.
    open: dict[int, float] = field(default_factory=dict)
    #: Every bucket below this index is folded into the baseline.
    closed_to: int = 0
    #: Slot → [mean, var, observations].
    slots: dict[int, list[float]] = field(default_factory=dict)
    #: Consecutive closed buckets beyond the threshold: +n above, -n below.
    streak: int = 0
    #: Consecutive buckets back inside, while an episode is open.
    calm: int = 0
    #: Direction of the open episode (1 up, -1 down, 0 none).
    episode: int = 0
    last_order: datetime | None = None
    #: Quantity and order lines counted since the series started (the exactness check:
    #: the ledger's ordered quantity per site x item equals it).
    total: float = 0.0
    lines: int = 0
    #: The last closed bucket: start, quantity, baseline mean, sd, z (None in warm-up).
    last: dict[str, Any] = field(default_factory=dict)
    run_start: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "open": {str(k): v for k, v in self.open.items()},
            "closed_to": self.closed_to,
            "slots": {str(k): v for k, v in self.slots.items()},
            "streak": self.streak,
            "calm": self.calm,
            "episode": self.episode,
            "last_order": None if self.last_order is None else self.last_order.isoformat(),
            "total": self.total,
            "lines": self.lines,
            "last": self.last,
            "run_start": None if self.run_start is None else self.run_start.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Series:
        return cls(
            key=data["key"],
            open={int(k): float(v) for k, v in data["open"].items()},
            closed_to=int(data["closed_to"]),
            slots={int(k): [float(x) for x in v] for k, v in data["slots"].items()},
            streak=int(data["streak"]),
            calm=int(data["calm"]),
            episode=int(data["episode"]),
            last_order=None
            if data.get("last_order") is None
            else datetime.fromisoformat(data["last_order"]),
            total=float(data.get("total", 0.0)),
            lines=int(data.get("lines", 0)),
            last=dict(data.get("last") or {}),
            run_start=None
            if data.get("run_start") is None
            else datetime.fromisoformat(data["run_start"]),
        )


def _ids(key: str) -> dict[str, Any]:
    if key.startswith("region:"):
        return {"series": key}
    site, _, item = key.partition("|")
    return {"series": key, "site_id": site, "item_id": item}


class DemandBook:
    """Series by key; ``dirty`` is what the store writes in the batch's transaction."""

    def __init__(self, policy: DemandPolicy) -> None:
        self.policy = policy
        self.series: dict[str, Series] = {}
        self.dirty: set[str] = set()
        #: The first bucket index not yet closed for every series.
        self.frontier: int | None = None
        self.meta_dirty = False

    def load(self, data: Mapping[str, Any]) -> None:
        series = Series.from_json(data)
        self.series[series.key] = series

    def load_meta(self, data: Mapping[str, Any]) -> None:
        self.frontier = data.get("frontier")

    def meta(self) -> dict[str, Any]:
        return {"frontier": self.frontier}

    def take_dirty(self) -> dict[str, dict[str, Any] | None]:
        dirty, self.dirty = self.dirty, set()
        return {k: (self.series[k].to_json() if k in self.series else None) for k in dirty}

    def keys_of(self, event: OrderPlaced) -> list[str]:
        keys = [f"{event.site_id}|{event.item_id}"]
        region = self.policy.regions.get(event.ship_to or "")
        if region:
            keys.append(f"region:{region}")
        return keys

    def apply(
        self, event: CanonicalEvent, watermark: datetime | None, monitor: Monitor
    ) -> list[Alert]:
        """An order-topic event; ``watermark`` is the order topic's low watermark."""
        if isinstance(event, OrderPlaced) and not event.source.snapshot:
            index = self.policy.index(event.occurred_at)
            for key in self.keys_of(event):
                series = self.series.get(key)
                if series is None:
                    series = self.series[key] = Series(key=key, closed_to=index)
                target = max(index, series.closed_to)  # closed already: the oldest open one
                series.open[target] = series.open.get(target, 0.0) + float(event.quantity)
                series.total += float(event.quantity)
                series.lines += 1
                series.last_order = (
                    event.occurred_at
                    if series.last_order is None
                    else max(series.last_order, event.occurred_at)
                )
                self.dirty.add(key)
        if watermark is None:
            return []
        return self.close(self.policy.index(watermark), event, monitor)

    def close(self, upto: int, cause: CanonicalEvent, monitor: Monitor) -> list[Alert]:
        """Fold every bucket below index ``upto`` into every series (the watermark is in
        bucket ``upto``: the ones before it are complete)."""
        if self.frontier is not None and upto <= self.frontier:
            return []
        self.frontier = upto
        self.meta_dirty = True
        alerts: list[Alert] = []
        horizon = self.policy.start(upto) - self.policy.retire_after
        for key in sorted(self.series):
            series = self.series[key]
            if series.closed_to >= upto:
                continue
            if series.last_order is not None and series.last_order <= horizon:
                del self.series[key]
                self.dirty.add(key)
                if monitor.is_open("demand.shift", key):
                    alerts.append(self._resolve(series, cause, monitor, "retired: no orders"))
                continue
            start = max(series.closed_to, upto - self.policy.max_fill)
            for index in range(start, upto):
                x = series.open.pop(index, 0.0)
                alerts.extend(self._fold(series, index, x, cause, monitor))
            for index in [i for i in series.open if i < upto]:
                series.open.pop(index)  # beyond max_fill: folded as the gap's zeros are
            series.closed_to = upto
            self.dirty.add(key)
        return alerts

    def _fold(
        self, series: Series, index: int, x: float, cause: CanonicalEvent, monitor: Monitor
    ) -> list[Alert]:
        policy = self.policy
        slot = index % policy.season
        mean, var, n = series.slots.get(slot, [x, 0.0, 0.0])
        z: float | None = None
        if n >= policy.min_history:
            z = zscore(x, mean, var, policy.min_sd)
        start = policy.start(index)
        series.last = {
            "bucket": start.isoformat(),
            "quantity": x,
            "mean": mean,
            "sd": max(math.sqrt(max(var, 0.0)), policy.min_sd),
            "z": z,
        }
        if n == 0:
            series.slots[slot] = [x, 0.0, 1.0]
        else:
            learned = x
            if z is not None:  # past the warm-up: a departure enters clipped (see above)
                sd = series.last["sd"]
                learned = min(max(x, mean - policy.threshold * sd), mean + policy.threshold * sd)
            mean2, var2 = ewma(mean, var, learned, policy.alpha)
            series.slots[slot] = [mean2, var2, n + 1]
        return self._judge(series, z, start, cause, monitor)

    def _judge(
        self,
        series: Series,
        z: float | None,
        start: datetime,
        cause: CanonicalEvent,
        monitor: Monitor,
    ) -> list[Alert]:
        policy = self.policy
        side = 0 if z is None or abs(z) < policy.threshold else (1 if z > 0 else -1)
        if side != 0 and side * series.streak > 0:
            series.streak += side
        else:
            series.streak = side
            series.run_start = start if side else None
        if series.episode:
            series.calm = series.calm + 1 if side != series.episode else 0
            if series.calm >= policy.sustain:
                return [self._resolve(series, cause, monitor, "back inside its baseline")]
            return []
        if abs(series.streak) >= policy.sustain:
            series.episode = 1 if series.streak > 0 else -1
            series.calm = 0
            direction = "up" if series.episode > 0 else "down"
            last = series.last
            return [
                monitor.episode(
                    "demand.shift",
                    "raised",
                    "warning",
                    series.key,
                    cause,
                    f"{series.key}: order rate {direction} for {abs(series.streak)} buckets "
                    f"since {series.run_start.isoformat() if series.run_start else '?'} "
                    f"(last {last['quantity']:g} vs baseline {last['mean']:.2f} ± "
                    f"{last['sd']:.2f}, z {last['z']:+.1f})",
                    measured=Decimal(str(last["quantity"])),
                    threshold=Decimal(str(round(last["mean"], 4))),
                    **_ids(series.key),
                )
            ]
        return []

    def _resolve(self, series: Series, cause: CanonicalEvent, monitor: Monitor, why: str) -> Alert:
        series.episode = 0
        series.calm = 0
        last = series.last
        return monitor.episode(
            "demand.shift",
            "resolved",
            "info",
            series.key,
            cause,
            f"{series.key}: {why}",
            measured=Decimal(str(last.get("quantity", 0))),
            threshold=Decimal(str(round(last.get("mean", 0.0), 4))),
            **_ids(series.key),
        )
