"""``scv bench --quick`` end to end on the real stack: every section, sane non-zero figures.

No thresholds: this machine is shared and the goals are benchmarks, not timed tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from stack.settings import StackSettings


@pytest.mark.usefixtures("connectors_applied")
def test_quick_bench_writes_every_section(
    stack_settings: StackSettings, endpoints: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "scv", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.exists(), done.stderr[-2000:]
    result = orjson.loads(out.read_bytes())
    errors = {s: result[s]["error"] for s in ("b1", "b2", "b3", "b4") if "error" in result[s]}
    assert not errors, f"{errors}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, done.stderr[-2000:]

    assert result["machine"]["nproc"] >= 1
    assert result["b1"]["messages"] > 0
    assert result["b1"]["messages_per_s"] > 0
    runs = result["b1"]["runs_messages_per_s"]
    assert len(runs) == result["settings"]["b1_runs"] == 3
    assert result["b1"]["messages_per_s"] == sorted(runs)[1]  # the median drain
    b2 = result["b2"]
    assert b2["messages"] == result["b1"]["messages"]  # the same backlog
    assert b2["events"] > 0
    assert b2["messages_per_s"] > 0
    assert b2["ratio_to_b1"] > 0
    for source in ("erp", "wms"):
        drain = result["b3"][source]
        assert drain["messages"] > 0
        assert drain["changes_per_s"] > 0
    steps = result["b4"]["steps"]
    assert steps
    for step in steps:
        assert step["achieved_changes_per_s"] > 0
        assert step["matched_events"] > 0
        assert 0 < step["p50_ms"] <= step["p95_ms"] <= step["p99_ms"] <= step["max_ms"]
    for role in ("kafka", "connect", "postgres", "mariadb", "runner", "passthrough"):
        assert result["memory"][role]["peak_rss_mib"] > 0, role
