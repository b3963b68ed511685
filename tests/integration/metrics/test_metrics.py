"""``/metrics`` of running processes and ``scv status`` against the real stack.

After ``scv sim init`` + ``connectors apply`` (``seed_world``), the test runs its own pipeline
(own group, transactional ids, output topic prefix, starting where the raw topics ended before
the seed) with ``--metrics-port`` under simulator traffic, and its own view process (own
serving schema) with ``--metrics-port``. Each scrape is parsed with prometheus-client's text
parser. Then:

- once drained, the runner's figures agree with the canonical topics (events per type, as a
  ``read_committed`` reader counts their ``ce_type``), every produced event has one freshness
  observation, every batch one commit time, and the group's lag is 0; the connectors' states
  and data-loss figures (risk level, retained WAL of the slot, binlog head-room) are those of
  ``scv connectors status --json``; the state sizes are there (reference entries, and the
  views' positions equal to the rows of their serving table);
- ``scv status`` exits 1 while the test's views are not running (``views: down``) and 0 once
  they run and have caught up;
- the runner stopped and more traffic committed: the lag read from outside (the registry the
  console serves, ``scv.observe.stack_registry``) goes up and the pipeline is ``down`` (exit
  1); restarted, the runner's own ``/metrics`` and the console's registry show the lag back
  to 0 and ``scv status`` exits 0 again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
from chain import seed_world, sim_run, spawn, start_group
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from rawtopics import settled_ends
from sqlalchemy import create_engine, text

import kafkaio
from connectors.specs import load_specs
from scv.observe import stack_registry
from transforms.events import CANONICAL_TOPICS, DEFAULT_SCHEMA_BASE_URL, EVENT_TYPES
from transforms.schemaserve import SchemaApp
from transforms.settings import TransformsSettings
from views.settings import SOURCE_TOPICS, ViewsSettings

INIT_SEED = 2020
RATE, DURATION = 20, 8
DRAIN_S = 240.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _parse(text_: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text_) for s in family.samples]


def _scrape(port: int) -> list[Sample]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        return _parse(answer.read().decode())


def _total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _by(samples: list[Sample], name: str, label: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for s in samples:
        if s.name == name and s.value:
            found[s.labels[label]] += int(s.value)
    return found


def _until(what: str, check: Callable[[], bool], log: Callable[[], str]) -> None:
    deadline = time.monotonic() + DRAIN_S
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached in {DRAIN_S:.0f}s\n{log()}"
        time.sleep(1)


def _status(env: dict[str, str]) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-m", "scv", "status", "--json"],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, orjson.loads(done.stdout)


def _verdicts(rows: list[dict[str, object]]) -> dict[str, object]:
    return {str(r["stage"]): r["verdict"] for r in rows}


def _events_on_topics(bootstrap: str, prefix: str) -> tuple[Counter[str], set[str]]:
    """Events per ``ce_type`` on the canonical topics, and the ``dataschema`` URLs they name."""
    found: Counter[str] = Counter()
    schemas: set[str] = set()
    topics = [f"{prefix}{t}" for t in CANONICAL_TOPICS]
    for message in kafkaio.read_committed(bootstrap, topics):
        headers = dict(message.headers() or [])
        found[bytes(headers["ce_type"]).decode()] += 1
        schemas.add(bytes(headers["ce_dataschema"]).decode())
    return found, schemas


def _connector_figures_equal_connectors_status(env: dict[str, str], samples: list[Sample]) -> None:
    """The data-loss figures of ``scv connectors status --json``, connector by connector: the
    risk level, the slot's retained WAL (it grows between the two reads: only present, with
    its slot) and the binlog head-room (within the seconds between the two reads)."""
    done = subprocess.run(
        [sys.executable, "-m", "scv", "connectors", "status", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    for row in orjson.loads(done.stdout):
        name, risk = row["name"], row["data_loss_risk"]
        levels = {
            s.labels["level"]
            for s in samples
            if s.name == "scv_connector_data_loss_risk" and s.labels["connector"] == name
            and s.value == 1
        }  # fmt: skip
        assert levels == {risk["level"]}, (name, levels, risk)
        wal = [
            s for s in samples
            if s.name == "scv_connector_retained_wal_bytes" and s.labels["connector"] == name
        ]  # fmt: skip
        if "retained_wal_bytes" in risk:
            assert [s.labels["slot"] for s in wal] == [risk["slot"]], (name, wal)
            assert wal[0].value >= 0
        else:
            assert wal == [], name
        headroom = _total(samples, "scv_connector_binlog_headroom_seconds", connector=name)
        if "headroom_s" in risk:
            assert abs(headroom - risk["headroom_s"]) <= 120, (name, headroom, risk)
        else:
            assert headroom == 0, name
    assert any("retained_wal_bytes" in r["data_loss_risk"] for r in orjson.loads(done.stdout))


def test_metrics_lag_and_status_of_running_and_stopped_stages(
    endpoints: dict[str, str], tmp_path: Path
) -> None:
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    run = f"itm{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **endpoints,
        "SCV_TRANSFORMS_TOPIC_PREFIX": f"{run}.",
        "SCV_TRANSFORMS_GROUP_ID": f"{run}-group",
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{run}-tx",
        "SCV_TRANSFORMS_BATCH_SIZE": "100",
        "SCV_TRANSFORMS_TRANSACTION_TIMEOUT_MS": "15000",
        # Backlogs of this test wait seconds, not minutes: within the objective.
        "SCV_TRANSFORMS_DEFAULT_FRESHNESS_SLO_S": "600",
        "SCV_VIEWS_TOPIC_PREFIX": f"{run}.",
        "SCV_VIEWS_DB_SCHEMA": run,
    }
    logs = {name: tmp_path / f"{name}.log" for name in ("runner", "views")}

    def log() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in logs.values() if p.exists())

    start = settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"])
    seed_world(env, INIT_SEED)
    start_group(bootstrap, f"{run}-group", start)
    runner_port, views_port = _port(), _port()
    runner = spawn(env, logs["runner"], "pipeline", "run", "--metrics-port", str(runner_port))
    views: subprocess.Popen[bytes] | None = None
    try:
        sim_run(env, "--rate", str(RATE), "--duration", str(DURATION), "--seed", "1")

        def runner_drained() -> bool:
            assert runner.poll() is None, log()
            try:
                samples = _scrape(runner_port)
            except OSError:
                return False  # not listening yet
            return (
                _total(samples, "scv_stage_members", stage="pipeline") == 1
                and _total(samples, "scv_consumer_lag_messages", stage="pipeline") == 0
                and _total(samples, "scv_pipeline_produced_total") > 0
            )

        _until("the runner drained", runner_drained, log)
        samples = _scrape(runner_port)
        produced = _by(samples, "scv_pipeline_produced_total", "event_type")
        on_topics, dataschemas = _events_on_topics(bootstrap, f"{run}.")
        assert produced == on_topics, log()
        # Each event's dataschema is a URL the schema app (mounted at /schemas) answers.
        app = SchemaApp()
        for url in dataschemas:
            assert url.startswith(f"{DEFAULT_SCHEMA_BASE_URL}/"), url
            status, _type, body = app.answer("GET", url.removeprefix(DEFAULT_SCHEMA_BASE_URL))
            assert status == 200, url
            event_type = url.removeprefix(f"{DEFAULT_SCHEMA_BASE_URL}/").split("/")[0]
            assert orjson.loads(body)["properties"]["event_type"]["const"] == event_type
        assert len(dataschemas) == len(produced)
        for event_type, count in produced.items():
            fresh = _total(samples, "scv_pipeline_freshness_seconds_count", event_type=event_type)
            assert fresh == count, event_type
            slo = _total(samples, "scv_pipeline_freshness_slo_seconds", event_type=event_type)
            assert slo == 600
        batches = _total(samples, "scv_pipeline_batch_messages_count")
        assert batches > 0
        assert _total(samples, "scv_pipeline_commit_seconds_count") == batches
        assert _total(samples, "scv_pipeline_consumed_total") == _total(
            samples, "scv_pipeline_batch_messages_sum"
        )
        assert _total(samples, "scv_connector_running") == len(load_specs())
        _connector_figures_equal_connectors_status(env, samples)
        # state sizes: the runner's reference state holds the seeded items at least
        assert _total(samples, "scv_pipeline_reference_state_entries") > 0

        # The test's views are not running yet: down, exit 1.
        code, rows = _status(env)
        verdicts = _verdicts(rows)
        assert (code, verdicts["pipeline"], verdicts["views"]) == (1, "up", "down"), rows

        views = spawn(env, logs["views"], "views", "run", "--metrics-port", str(views_port))

        def views_drained() -> bool:
            assert views is not None
            assert views.poll() is None, log()
            try:
                samples = _scrape(views_port)
            except OSError:
                return False
            return (
                _total(samples, "scv_stage_members", stage="views") == 1
                and _total(samples, "scv_consumer_lag_messages", stage="views") == 0
                and _total(samples, "scv_views_consumed_total") > 0
            )

        _until("the views drained", views_drained, log)
        engine = create_engine(endpoints["SCV_STORE_DSN"])
        with engine.connect() as conn:
            query = f'SELECT count(*) FROM "{run}".inventory_positions'
            held = conn.execute(text(query)).scalar_one()
        engine.dispose()
        assert _total(_scrape(views_port), "scv_views_positions") == held > 0
        # Every event the pipeline produced on the topics the views read was applied once.
        applied = _by(_scrape(views_port), "scv_views_consumed_total", "event_type")
        read = {t: n for t, n in produced.items() if EVENT_TYPES[t].TOPIC in SOURCE_TOPICS}
        assert applied == read, log()
        code, rows = _status(env)
        assert code == 0, rows
        assert set(_verdicts(rows).values()) == {"up"}, rows

        # The runner stopped, traffic goes on: the lag read from outside goes up.
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(60) == 0, log()
        registry = stack_registry(
            TransformsSettings(
                kafka_bootstrap=bootstrap, group_id=f"{run}-group", topic_prefix=f"{run}."
            ),
            ViewsSettings(
                store_dsn=endpoints["SCV_STORE_DSN"], db_schema=run, topic_prefix=f"{run}."
            ),
            None,
            log=lambda _line: None,
        )
        outside = _parse(generate_latest(registry).decode())
        assert _total(outside, "scv_consumer_lag_messages", stage="pipeline") == 0
        sim_run(env, "--rate", str(RATE), "--duration", str(DURATION), "--seed", "2")

        def lag_seen() -> bool:
            outside = _parse(generate_latest(registry).decode())
            return _total(outside, "scv_consumer_lag_messages", stage="pipeline") > 0

        _until("lag while the runner is stopped", lag_seen, log)
        outside = _parse(generate_latest(registry).decode())
        assert _total(outside, "scv_stage_members", stage="pipeline") == 0
        assert _total(outside, "scv_consumer_lag_oldest_seconds", stage="pipeline") > 0
        code, rows = _status(env)
        assert (code, _verdicts(rows)["pipeline"]) == (1, "down"), rows

        # Restarted, it drains: its own /metrics shows the lag back to 0, status exits 0.
        runner = spawn(env, logs["runner"], "pipeline", "run", "--metrics-port", str(runner_port))
        _until("the restarted runner drained", runner_drained, log)
        # ... and so does the registry the console serves, read from outside the runner
        outside = _parse(generate_latest(registry).decode())
        assert _total(outside, "scv_consumer_lag_messages", stage="pipeline") == 0
        assert _total(outside, "scv_stage_members", stage="pipeline") == 1
        _until("scv status exit 0", lambda: _status(env)[0] == 0, log)
    finally:
        for proc in (runner, views):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        engine = create_engine(endpoints["SCV_STORE_DSN"])
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{run}" CASCADE'))
        engine.dispose()
    assert f"metrics: http://127.0.0.1:{runner_port}/metrics" in logs["runner"].read_text()
