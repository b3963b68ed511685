"""Prometheus metric objects built from the catalogue, and a collector for figures read at
scrape time (consumer lag, connector states) rather than counted as they happen."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from metrics.catalogue import CATALOGUE, MetricSpec, spec

_Any = Counter | Gauge | Histogram


class Metrics:
    """The catalogue's metrics whose names start with one of ``prefixes``, registered on
    ``registry`` up front (so a scrape shows a counter at 0 before anything happened)."""

    def __init__(self, registry: CollectorRegistry, prefixes: Iterable[str]) -> None:
        self.registry = registry
        wanted = tuple(prefixes)
        self._metrics: dict[str, _Any] = {
            m.name: _make(m, registry) for m in CATALOGUE if m.name.startswith(wanted)
        }
        if not self._metrics:
            raise KeyError(f"no metric in the catalogue starts with {wanted}")

    def _get(self, name: str, kind: type[_Any]) -> _Any:
        metric = self._metrics[name]  # KeyError: not declared, or not this process's
        if not isinstance(metric, kind):
            raise TypeError(f"{name} is a {spec(name).kind}, not a {kind.__name__.lower()}")
        return metric

    def counter(self, name: str) -> Counter:
        metric = self._get(name, Counter)
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str) -> Gauge:
        metric = self._get(name, Gauge)
        assert isinstance(metric, Gauge)
        return metric

    def histogram(self, name: str) -> Histogram:
        metric = self._get(name, Histogram)
        assert isinstance(metric, Histogram)
        return metric

    def count(self, name: str, counts: Mapping[str, int]) -> None:
        """Add per-label counts to a counter with one label."""
        counter = self.counter(name)
        for label, n in counts.items():
            if n:
                counter.labels(label).inc(n)


def _make(m: MetricSpec, registry: CollectorRegistry) -> _Any:
    if m.kind == "counter":
        # The client appends ``_total`` to a counter's name itself.
        return Counter(m.name.removesuffix("_total"), m.help, m.labels, registry=registry)
    if m.kind == "gauge":
        return Gauge(m.name, m.help, m.labels, registry=registry)
    return Histogram(m.name, m.help, m.labels, registry=registry, buckets=m.buckets)


@dataclass(frozen=True, slots=True)
class Reading:
    """One gauge sample read at scrape time: a catalogue name, its labels, its value."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


class ReadingsCollector(Collector):
    """Gauges whose values ``read`` gathers at each scrape (every name must be a catalogue
    gauge). ``read`` handles its own failures: what it cannot read it leaves out."""

    def __init__(self, names: Iterable[str], read: Callable[[], Iterable[Reading]]) -> None:
        self._specs = [spec(name) for name in names]
        for m in self._specs:
            if m.kind != "gauge":
                raise TypeError(f"{m.name} is a {m.kind}: only gauges are read at scrape time")
        self._read = read

    def describe(self) -> Iterator[Metric]:
        # Known without reading: registration checks names without touching Kafka.
        for m in self._specs:
            yield GaugeMetricFamily(m.name, m.help, labels=m.labels)

    def collect(self) -> Iterator[Metric]:
        families = {m.name: GaugeMetricFamily(m.name, m.help, labels=m.labels) for m in self._specs}
        for reading in self._read():
            family = families.get(reading.name)
            if family is None:
                raise KeyError(f"{reading.name} is not one of this collector's gauges")
            labels = [str(reading.labels[label]) for label in spec(reading.name).labels]
            family.add_metric(labels, reading.value)
        yield from families.values()
