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
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from chain import namespaced_env, seed_world, sim_run, start_group
from rawtopics import settled_ends, wait_quiet
from sqlalchemy import create_engine, text

from legacy_sim.anomalies import DEFECTS
from legacy_sim.verify import read_ledger

INIT_SEED = 606
#: One ``scv sim run``: business transactions per second and seconds (2% of them defective).
RATE, DURATION, ANOMALIES = 60, 20, "0.02"


def _sim_run(env: dict[str, str], seed: int) -> int:
    return sim_run(
        env, "--rate", str(RATE), "--duration", str(DURATION),
        "--anomalies", ANOMALIES, "--rollback", "0.01", "--seed", str(seed),
    )  # fmt: skip


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


@pytest.fixture(scope="package")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Chain:
    env = {**namespaced_env(endpoints, tag="itq"), "SCV_TRANSFORMS_BATCH_SIZE": "200"}
    run_id = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start = settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"])
    seed_world(env, INIT_SEED)
    runs = [_sim_run(env, 1)]
    # More seeded runs until every defect kind was injected at least once (2% of ~1,200
    # transactions per run: usually one or two runs).
    for seed in range(2, 8):
        if _anomaly_kinds(endpoints["SCV_STORE_DSN"], runs) >= set(DEFECTS):
            break
        runs.append(_sim_run(env, seed))
    wait_quiet(bootstrap)
    transactions, since, until = read_ledger(endpoints["SCV_STORE_DSN"], runs)
    start_group(bootstrap, f"{run_id}-group", start)
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
