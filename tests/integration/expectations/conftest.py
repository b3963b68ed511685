"""One real chain with anomalies for the quality tests (the quarantine and the report).

Through the CLI, as a user would: ``scv sim init`` (it resets the shared legacy databases),
``scv connectors apply``, an incremental snapshot of the ERP item and conversion tables (a
re-created PostgreSQL table is re-added to the publication, so its seed rows only reach Kafka
by a snapshot), then ``scv sim run --anomalies 0.02`` until every defect kind of the simulator
was injected, and ``scv pipeline run --until-idle`` with its own consumer group (starting
where the raw topics ended before the fixture), transactional ids and output topic prefix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from rawtopics import Offsets, count_ops, raw_ends, wait_quiet
from sqlalchemy import create_engine, text

from legacy_sim.anomalies import DEFECTS
from scv.commands.sim_verify import ledger

INIT_SEED = 606
#: One ``scv sim run``: business transactions per second and seconds (2% of them defective).
RATE, DURATION, ANOMALIES = 60, 20, "0.02"


def scv(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _sim_run(env: dict[str, str], seed: int) -> int:
    out = scv(
        env, "sim", "run", "--rate", str(RATE), "--duration", str(DURATION),
        "--anomalies", ANOMALIES, "--rollback", "0.01", "--seed", str(seed),
    )  # fmt: skip
    found = re.search(r"sim: run (\d+) ", out)
    assert found, out
    return int(found.group(1))


@dataclass(frozen=True)
class Chain:
    env: dict[str, str]
    #: The output topic prefix of this chain's pipeline (``it1a2b3c4d.``).
    prefix: str
    runs: tuple[int, ...]
    #: The ledger of the runs as the fixture read it (``committed``, ``verdict``, ``events``).
    ledger: list[dict[str, Any]]
    since: datetime | None
    until: datetime | None
    pipeline_log: str

    @property
    def bootstrap(self) -> str:
        return self.env["SCV_KAFKA_BOOTSTRAP"]


def _anomaly_kinds(store_dsn: str, runs: list[int]) -> set[str]:
    engine = create_engine(store_dsn)
    try:
        with engine.connect() as conn:
            return set(
                conn.execute(
                    text(
                        "SELECT DISTINCT anomaly FROM sim.transactions "
                        "WHERE committed AND anomaly IS NOT NULL AND run_id = ANY(:runs)"
                    ),
                    {"runs": runs},
                ).scalars()
            )
    finally:
        engine.dispose()


def _start_group(bootstrap: str, group: str, offsets: Offsets) -> None:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        parts = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        if parts:
            consumer.commit(offsets=parts, asynchronous=False)
    finally:
        consumer.close()


@pytest.fixture(scope="package")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Chain:
    run_id = f"itq{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **endpoints,
        "SCV_TRANSFORMS_TOPIC_PREFIX": f"{run_id}.",
        "SCV_TRANSFORMS_GROUP_ID": f"{run_id}-group",
        "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": f"{run_id}-tx",
        "SCV_TRANSFORMS_BATCH_SIZE": "200",
        "SCV_TRANSFORMS_IDLE_S": "4",
    }
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start = raw_ends(bootstrap)
    scv(env, "sim", "init", "--seed", str(INIT_SEED))
    scv(env, "connectors", "apply")
    for table in ("f4101", "f41002"):
        scv(env, "connectors", "snapshot", "erp", "--table", table)
    engine = create_engine(endpoints["SCV_ERP_DSN"])
    with engine.connect() as conn:
        want = {
            t: conn.execute(text(f"SELECT count(*) FROM proddta.{t}")).scalar_one()
            for t in ("f4101", "f41002")
        }
    engine.dispose()
    deadline = time.monotonic() + 180
    for table, rows in want.items():
        while count_ops(bootstrap, f"erp.proddta.{table}", start, "r") < rows:
            assert time.monotonic() < deadline, f"snapshot of {table} did not finish"
            time.sleep(1)
    runs = [_sim_run(env, 1)]
    # More seeded runs until every defect kind was injected at least once (2% of ~1,200
    # transactions per run: usually one or two runs).
    for seed in range(2, 8):
        if _anomaly_kinds(endpoints["SCV_STORE_DSN"], runs) >= set(DEFECTS):
            break
        runs.append(_sim_run(env, seed))
    wait_quiet(bootstrap)
    transactions, since, until = ledger(endpoints["SCV_STORE_DSN"], runs)
    _start_group(bootstrap, f"{run_id}-group", start)
    logs = tmp_path_factory.mktemp(run_id) / "pipeline.log"
    with logs.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scv", "pipeline", "run", "--until-idle"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            code = proc.wait(900)
        finally:
            if proc.poll() is None:
                proc.kill()
    log = logs.read_text()
    assert code == 0, log
    print(f"chain {run_id}: runs {runs}\n{log}")  # noqa: T201 - the CI log shows the run
    return Chain(env, f"{run_id}.", tuple(runs), transactions, since, until, log)


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every committed record of ``topic`` (confluent-kafka messages)."""
    from kafkaio import read_committed

    return list(read_committed(bootstrap, [topic]))


def artifacts_dir() -> Path:
    path = Path(os.environ.get("SCV_ARTIFACTS_DIR", "artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
