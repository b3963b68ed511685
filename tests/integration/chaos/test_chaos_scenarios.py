"""``scv chaos run NAME`` on the real stack: each scenario that fits CI's time, once.

The command does everything (a new legacy world, its own pipeline and views, the simulator at
50 business transactions/s, the faults, the drain) and judges the run by the ledger and
``scv reconcile``; it exits 0 only if the run passed. The test reads the run's
``results.json`` as well, so a run that injected nothing, never recovered or left nothing to
skip cannot pass here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest


def _chaos_run(endpoints: dict[str, str], tmp_path: Path, name: str) -> dict[str, Any]:
    env = {
        **os.environ,
        **endpoints,
        "SCV_CHAOS_OUT_DIR": str(tmp_path),
        "SCV_CHAOS_RUN_ID": "it",
    }
    done = subprocess.run(
        [sys.executable, "-m", "scv", "chaos", "run", name],
        env=env, capture_output=True, text=True, timeout=1500, check=False,
    )  # fmt: skip
    results = tmp_path / "it" / "results.json"
    assert results.exists(), f"{done.stdout}\n{done.stderr}"
    (outcome,) = orjson.loads(results.read_bytes())["outcomes"]
    logs = tmp_path / "it" / f"{name}-1"
    detail = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log")))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{detail}"
    assert outcome["passed"], outcome
    assert outcome["canonical_events"] > 0, outcome
    assert outcome["reconcile_keys"] > 0, outcome
    assert all(r["recover_s"] is not None for r in outcome["recoveries"]), outcome
    result: dict[str, Any] = outcome
    return result


@pytest.mark.timeout(1800)
def test_connect_kill(endpoints: dict[str, str], tmp_path: Path) -> None:
    outcome = _chaos_run(endpoints, tmp_path, "connect-kill")
    assert len(outcome["recoveries"]) == 5, outcome
    # Each crash makes Debezium write again what it had not flushed: without copies on the
    # raw topics the runner's skipping was not tested.
    assert outcome["raw_duplicates"] > 0, outcome
    assert outcome["replays_skipped"] == outcome["raw_duplicates"], outcome


@pytest.mark.timeout(1800)
def test_connector_redeploy(endpoints: dict[str, str], tmp_path: Path) -> None:
    outcome = _chaos_run(endpoints, tmp_path, "connector-redeploy")
    assert len(outcome["recoveries"]) == 3, outcome
