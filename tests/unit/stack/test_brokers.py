"""``scv stack up --brokers 3``: the nodes' properties, ports, the shared cluster id and the
replication the exports give the stages (no process is started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack import launcher
from stack.components import all_components
from stack.components.connect import ConnectWorker
from stack.components.kafka import KafkaBroker
from stack.credentials import load_or_create
from stack.endpoints import exports
from stack.errors import CorruptState
from stack.settings import StackSettings
from stack.state import create


def settings(tmp_path: Path, brokers: int) -> StackSettings:
    made = StackSettings(state_dir=tmp_path / "state", brokers=brokers, kafka_port=29092,
                         kafka_controller_port=29093)  # fmt: skip
    create(made)
    return made


def test_three_nodes_form_one_quorum_on_their_own_ports(tmp_path: Path) -> None:
    three = settings(tmp_path, 3)
    names = [c.name for c in all_components(three, load_or_create(three.state_dir))]
    assert names == ["postgres", "mariadb", "kafka", "kafka-2", "kafka-3", "connect"]
    nodes = [KafkaBroker(three, load_or_create(three.state_dir), n) for n in (1, 2, 3)]
    props = [n.server_properties() for n in nodes]
    voters = "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
    assert [p["controller.quorum.voters"] for p in props] == [voters] * 3
    assert [p["node.id"] for p in props] == ["1", "2", "3"]
    assert [p["listeners"] for p in props] == [
        "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093",
        "PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095",
        "PLAINTEXT://127.0.0.1:29096,CONTROLLER://127.0.0.1:29097",
    ]
    assert len({n.properties for n in nodes}) == 3
    assert three.kafka_bootstrap == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"


def test_three_brokers_replicate_three_times_and_acknowledge_on_two(tmp_path: Path) -> None:
    three = settings(tmp_path, 3)
    credentials = load_or_create(three.state_dir)
    props = KafkaBroker(three, credentials, 2).server_properties()
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "share.coordinator.state.topic.replication.factor",
                "default.replication.factor"):  # fmt: skip
        assert props[key] == "3", key
    for key in ("transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr",
                "min.insync.replicas"):  # fmt: skip
        assert props[key] == "2", key
    assert props["unclean.leader.election.enable"] == "false"
    worker = ConnectWorker(three, credentials).worker_properties()
    assert worker["bootstrap.servers"] == three.kafka_bootstrap
    for kind in ("config", "offset", "status"):
        assert worker[f"{kind}.storage.replication.factor"] == "3"
    env = exports(three, credentials)
    assert env["SCV_KAFKA_BOOTSTRAP"] == three.kafka_bootstrap
    assert env["SCV_TRANSFORMS_TOPIC_REPLICATION"] == "3"
    assert env["SCV_VIEWS_TOPIC_REPLICATION"] == "3"


def test_one_broker_keeps_replication_factor_one(tmp_path: Path) -> None:
    one = settings(tmp_path, 1)
    credentials = load_or_create(one.state_dir)
    props = KafkaBroker(one, credentials).server_properties()
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["min.insync.replicas"] == "1"
    assert "SCV_TRANSFORMS_TOPIC_REPLICATION" not in exports(one, credentials)


def test_nodes_share_one_cluster_id(tmp_path: Path) -> None:
    three = settings(tmp_path, 3)
    credentials = load_or_create(three.state_dir)
    ids = {KafkaBroker(three, credentials, n).cluster_id() for n in (1, 2, 3)}
    assert len(ids) == 1


def test_the_broker_count_is_recorded_and_cannot_change_without_a_purge(tmp_path: Path) -> None:
    three = settings(tmp_path, 3)
    launcher._mark_brokers(three)
    later = StackSettings(state_dir=three.state_dir)  # no --brokers: as recorded
    assert later.cluster_size == 3
    single = StackSettings(state_dir=tmp_path / "single")
    create(single)
    kafka_data = single.data_dir / "kafka" / "data"
    kafka_data.mkdir(parents=True)
    (kafka_data / "meta.properties").write_text("formatted\n")
    with pytest.raises(CorruptState, match="single-broker stack"):
        launcher._mark_brokers(StackSettings(state_dir=single.state_dir, brokers=3))


def test_the_count_comes_from_the_environment_and_is_one_or_three(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pydantic

    monkeypatch.setenv("SCV_BROKERS", "3")
    assert StackSettings().brokers == 3
    with pytest.raises(pydantic.ValidationError, match="must be 1 or 3"):
        StackSettings(brokers=2)
