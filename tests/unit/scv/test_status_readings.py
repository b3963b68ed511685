"""How ``scv status`` holds waiting records to the SLOs: a canonical topic to the tightest
objective of the types it carries, the partition furthest past its objective reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import kafkaio
from scv.observe import _worst, topic_slo
from transforms.settings import TransformsSettings

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _lag(topic: str, age_s: float | None) -> kafkaio.PartitionLag:
    oldest = None if age_s is None else NOW - timedelta(seconds=age_s)
    return kafkaio.PartitionLag(topic, 0, 0, 5, 0 if age_s is None else 5, oldest)


def test_a_topic_is_held_to_the_tightest_slo_of_its_event_types() -> None:
    settings = TransformsSettings(
        freshness_slo_s={"order.placed": 20, "order.picked": 45}, default_freshness_slo_s=120
    )
    assert topic_slo(settings, "scv.order.v1") == 20
    assert topic_slo(settings, "t.scv.order.v1", prefix="t.") == 20
    assert topic_slo(settings, "scv.item.v1") == 120


def test_the_partition_furthest_past_its_slo_is_reported() -> None:
    slo = {"scv.order.v1": 20.0, "scv.inventory.v1": 120.0}.__getitem__
    lags = [_lag("scv.inventory.v1", 100), _lag("scv.order.v1", 30), _lag("scv.order.v1", None)]
    assert _worst(lags, slo, NOW) == (30, 20)
    assert _worst([_lag("scv.order.v1", None)], slo, NOW) == (None, None)


def test_the_console_registry_holds_every_stage_and_the_connectors() -> None:
    # Registering checks the names (no scrape: nothing is read from Kafka or Connect).
    from connectors.settings import ConnectorsSettings
    from connectors.specs import load_specs
    from scv.observe import stack_registry
    from views.settings import ViewsSettings

    specs = list(load_specs().values())
    registry = stack_registry(
        TransformsSettings(), ViewsSettings(), (specs, ConnectorsSettings()), lambda _: None
    )
    names = set(registry._names_to_collectors)
    assert {"scv_consumer_lag_messages", "scv_stage_members", "scv_connector_running"} <= names
