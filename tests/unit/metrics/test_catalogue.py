"""The catalogue is the one source of the metrics: valid names, every entry registrable and
exposed, and docs/metrics.md lists exactly it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import metrics
from metrics.catalogue import CATALOGUE, series_names, spec

DOCS = Path(__file__).parents[3] / "docs" / "metrics.md"
NAME = re.compile(r"^scv_[a-z][a-z0-9_]*$")


def test_names_are_prometheus_names_and_unique() -> None:
    names = [m.name for m in CATALOGUE]
    assert len(names) == len(set(names))
    for m in CATALOGUE:
        assert NAME.match(m.name), m.name
        assert m.help.strip(), m.name
        assert m.name.endswith("_total") == (m.kind == "counter"), m.name
        assert bool(m.buckets) == (m.kind == "histogram"), m.name
        assert list(m.buckets) == sorted(m.buckets), m.name


@pytest.mark.parametrize("prefix", ["scv_pipeline_", "scv_views_"])
def test_every_metric_of_a_process_is_exposed_with_its_type_and_help(prefix: str) -> None:
    registry = CollectorRegistry()
    metrics.Metrics(registry, [prefix])
    exposed = {
        f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())
    }
    declared = [m for m in CATALOGUE if m.name.startswith(prefix)]
    assert declared
    for m in declared:
        # The parser names a counter family without its ``_total``.
        family = exposed[m.name.removesuffix("_total") if m.kind == "counter" else m.name]
        assert (family.type, family.documentation) == (m.kind, m.help)


def test_a_name_outside_the_catalogue_or_of_the_wrong_kind_is_refused() -> None:
    m = metrics.Metrics(CollectorRegistry(), ["scv_pipeline_"])
    with pytest.raises(KeyError):
        m.counter("scv_pipeline_made_up_total")
    with pytest.raises(KeyError):
        m.gauge("scv_views_positions")  # declared, but not this process's
    with pytest.raises(TypeError, match="histogram"):
        m.counter("scv_pipeline_commit_seconds")
    with pytest.raises(KeyError):
        metrics.Metrics(CollectorRegistry(), ["nothing_"])


def test_readings_are_exposed_as_labelled_gauges_at_each_scrape() -> None:
    values = iter([3.0, 0.0])

    def read() -> list[metrics.Reading]:
        labels = {"stage": "pipeline", "topic": "erp.proddta.f4211", "partition": "2"}
        return [metrics.Reading("scv_consumer_lag_messages", next(values), labels)]

    registry = CollectorRegistry()
    registry.register(metrics.ReadingsCollector(["scv_consumer_lag_messages"], read))
    for expected in (3.0, 0.0):
        text = generate_latest(registry).decode()
        (family,) = text_string_to_metric_families(text)
        (sample,) = family.samples
        assert sample.labels == {
            "stage": "pipeline",
            "topic": "erp.proddta.f4211",
            "partition": "2",
        }
        assert sample.value == expected


def test_only_gauges_are_read_at_scrape_time() -> None:
    with pytest.raises(TypeError, match="counter"):
        metrics.ReadingsCollector(["scv_pipeline_produced_total"], list)


def test_series_names_cover_every_sample_a_scrape_shows() -> None:
    registry = CollectorRegistry()
    m = metrics.Metrics(registry, ["scv_pipeline_", "scv_views_"])
    m.count("scv_pipeline_produced_total", {"order.placed": 2})
    m.histogram("scv_views_freshness_seconds").labels("order.placed").observe(1.5)
    samples = {
        s.name
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        for s in f.samples
    }
    assert samples <= series_names()
    assert spec("scv_views_freshness_seconds").series[0] == "scv_views_freshness_seconds_bucket"


def test_docs_list_exactly_the_catalogue() -> None:
    rows = re.findall(r"^\| `(scv_[a-z0-9_]+)` \| (\w+) \| ([^|]*) \|", DOCS.read_text(), re.M)
    documented = {name: (kind, labels.strip()) for name, kind, labels in rows}
    declared = {
        m.name: (m.kind, ", ".join(f"`{label}`" for label in m.labels) or "-") for m in CATALOGUE
    }
    assert documented == declared
