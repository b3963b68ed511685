"""The runner's metrics move when a batch commits, by what the batch did (the Kafka clients
faked at the boundary; the change is a recorded ``f4101`` snapshot read)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import kafkaio
from transforms.batch import Mapped
from transforms.events import CanonicalEvent
from transforms.observe import RunnerMetrics, figures, lag_readings, slos
from transforms.pipeline import Emit, Rejection, process, route
from transforms.reference import Reference, StateStore
from transforms.registry import default_registry
from transforms.runner import Runner
from transforms.settings import TransformsSettings

from .test_mappers import raw_fixture

ITEM = Path(__file__).parents[2] / "fixtures" / "debezium" / "erp" / "f4101" / "r-item-60002.json"


class Producer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def produce(self, topic: str, **_record: Any) -> None:
        self.calls.append(topic)

    def poll(self, _timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(self, offsets: Any, group: Any, timeout: float) -> None:
        self.calls.append("send_offsets")

    def commit_transaction(self, timeout: float) -> None:
        self.calls.append("commit")


class RejectAll:
    def reject(self, events: Sequence[CanonicalEvent]) -> Sequence[Rejection]:
        return [Rejection(e, "unit_test_rule", "rejected by the test") for e in events]


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def runner(registry: CollectorRegistry) -> Iterator[Runner]:
    settings = TransformsSettings(instance_id="7", commit_deadline_s=5.0)
    runner = Runner(settings, default_registry(), metrics=RunnerMetrics(registry, slos(settings)))
    runner.commits.open()
    yield runner
    runner.commits.close()


def test_figures_count_what_the_gate_let_through() -> None:
    raw = raw_fixture(ITEM)
    outcome = process(raw, default_registry(), Reference(StateStore(), {}))
    assert isinstance(outcome, Emit)
    passed = figures(route([(raw, outcome)], gate=_PassAll()))
    assert passed.consumed == Counter({raw.topic: 1})
    assert passed.produced == [(e.event_type, e.recorded_at.timestamp()) for e in outcome.events]
    rejected = figures(route([(raw, outcome)], RejectAll()))
    assert (rejected.consumed, rejected.produced) == (Counter({raw.topic: 1}), [])


class _PassAll:
    def reject(self, events: Sequence[CanonicalEvent]) -> Sequence[Rejection]:
        return []


def test_a_committed_batch_moves_counts_freshness_commit_time_and_sizes(
    runner: Runner, registry: CollectorRegistry
) -> None:
    raw = raw_fixture(ITEM)
    outcome = process(raw, default_registry(), Reference(StateStore(), {}))
    assert isinstance(outcome, Emit)
    batch = figures(route([(raw, outcome)], _PassAll()))
    (event_type, recorded), *_ = batch.produced
    mapped = Mapped(
        records=[("scv.item.v1", b"k", b"{}", None)],
        counts={
            "events": Counter({event_type: 1}),
            "quarantined": Counter({"unknown_item": 2}),
            "skipped": Counter(),
        },
        positions=[TopicPartition(raw.topic, raw.partition, raw.offset + 1)],
        group=None,
        messages=3,
        reference=True,
        figures=batch,
    )
    runner.commits.send(Producer(), mapped)  # type: ignore[arg-type]
    before = datetime.now(UTC).timestamp()
    runner._await_commit()
    after = datetime.now(UTC).timestamp()
    got = _samples(registry)
    assert got[("scv_pipeline_produced_total", (("event_type", event_type),))] == 1
    assert got[("scv_pipeline_quarantined_total", (("reason", "unknown_item"),))] == 2
    assert got[("scv_pipeline_consumed_total", (("topic", raw.topic),))] == 1
    assert got[("scv_pipeline_batch_messages_sum", ())] == 3
    assert got[("scv_pipeline_commit_seconds_count", ())] == 1
    freshness = got[("scv_pipeline_freshness_seconds_sum", (("event_type", event_type),))]
    assert before - recorded <= freshness <= after - recorded
    assert got[("scv_pipeline_freshness_slo_seconds", (("event_type", "order.placed"),))] == 60
    assert got[("scv_pipeline_reference_state_entries", ())] == len(runner.store)


def test_an_aborted_batch_counts_nothing_but_the_abort(
    runner: Runner, registry: CollectorRegistry
) -> None:
    runner.stats.aborted_batches = 2  # as the loop counts them
    runner.metrics.committed(
        {"events": Counter()}, figures([]), messages=0, aborted_batches=2,
        state_entries=0, pending_rows=0,
    )  # fmt: skip
    got = _samples(registry)
    assert got[("scv_pipeline_aborted_batches_total", ())] == 2
    assert not any(name == "scv_pipeline_produced_total" for name, _ in got)


def test_the_slo_of_each_event_type_is_its_setting_or_the_default() -> None:
    settings = TransformsSettings(
        freshness_slo_s={"temperature.recorded": 30}, default_freshness_slo_s=90
    )
    found = slos(settings)
    assert found["temperature.recorded"] == 30
    assert found["order.placed"] == 90


def test_an_slo_for_an_unknown_event_type_is_refused() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="unknown event type"):
        TransformsSettings(freshness_slo_s={"order.shredded": 30})


def test_lag_readings_report_the_oldest_waiting_record() -> None:
    now = datetime(2026, 1, 5, 8, 0, 10, tzinfo=UTC)
    waiting_since = datetime(2026, 1, 5, 8, 0, 4, tzinfo=UTC)
    lags = [
        kafkaio.PartitionLag("erp.proddta.f4211", 0, 5, 9, 4, waiting_since),
        kafkaio.PartitionLag("erp.proddta.f4211", 1, 7, 7, 0, None),
    ]
    readings = {
        (r.name, tuple(r.labels.values())): r.value
        for r in lag_readings("pipeline", lags, 1, now=now)
    }
    assert readings[("scv_consumer_lag_messages", ("pipeline", "erp.proddta.f4211", "0"))] == 4
    assert readings[("scv_consumer_lag_messages", ("pipeline", "erp.proddta.f4211", "1"))] == 0
    assert readings[("scv_consumer_lag_oldest_seconds", ("pipeline",))] == 6
    assert readings[("scv_stage_members", ("pipeline",))] == 1
