"""The raw topics' retention: the spec's, set by ``prepare`` on the captured tables' topics that
exist already (Connect's topic creation never changes an existing topic; the admin is faked)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from connectors.kafka import ensure_raw_retention, raw_topic_config
from connectors.specs import DEFAULT_SPECS, load_specs, parse_spec


@dataclass
class Partition:
    leader: int = 1
    error: None = None


@dataclass
class Topic:
    partitions: dict[int, Partition]
    error: None = None


@dataclass
class Metadata:
    topics: dict[str, Topic]


@dataclass
class Entry:
    value: str | None


def _done(value: Any = None) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


@dataclass
class FakeAdmin:
    configs: dict[str, dict[str, str]]
    altered: list[tuple[str, str, str]] = field(default_factory=list)

    def list_topics(self, timeout: float) -> Metadata:
        return Metadata({name: Topic({0: Partition()}) for name in self.configs})

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        return {r: _done({k: Entry(v) for k, v in self.configs[r.name].items()}) for r in resources}

    def incremental_alter_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        for resource in resources:
            for entry in resource.incremental_configs:
                self.configs[resource.name][entry.name] = entry.value
                self.altered.append((resource.name, entry.name, entry.value))
        return {r: _done() for r in resources}


def test_existing_table_topics_get_the_specs_retention() -> None:
    text = (DEFAULT_SPECS / "erp.yaml").read_text()
    spec = parse_spec(
        text.replace("retention_ms: 604800000", "retention_ms: 1209600000"), "specs/erp.yaml"
    )
    admin = FakeAdmin(
        {
            "erp.proddta.f4211": {"retention.ms": "604800000", "retention.bytes": "-1"},
            "erp.proddta.f4101": {"retention.ms": "1209600000", "retention.bytes": "-1"},
            "erp.transaction": {"retention.ms": "604800000"},  # not a table topic: left alone
            "wms.schema-history": {"retention.ms": "-1"},
        }
    )
    lines = ensure_raw_retention("h:1", spec, admin)  # type: ignore[arg-type]
    assert lines == ["topic erp.proddta.f4211: retention.ms 604800000 -> 1209600000"]
    assert admin.altered == [("erp.proddta.f4211", "retention.ms", "1209600000")]
    assert raw_topic_config(spec) == {"retention.ms": "1209600000", "retention.bytes": "-1"}


def test_nothing_to_do_before_connect_created_any_topic() -> None:
    admin = FakeAdmin({})
    assert ensure_raw_retention("h:1", load_specs()["wms"], admin) == []  # type: ignore[arg-type]
