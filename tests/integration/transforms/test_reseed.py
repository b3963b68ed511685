"""A new legacy world on a stack whose pipeline processed an earlier one (``scv sim init``).

The new world reuses the earlier one's item numbers with other units and conversions; a
pipeline that kept the earlier world's reference state mapped the new orders with the old
conversions (quantities 4x and 8x the ledger's). ``scv sim init`` now starts the pipeline over
(``transforms.reset``) and refuses while it runs. The flow is the README's, in a namespace of
the test's own (topic prefix, group, transactional ids).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from chain import namespaced_env, scv, sim_run


def test_a_new_world_after_an_earlier_one_verifies(endpoints: dict[str, str]) -> None:
    env = namespaced_env(endpoints)
    scv(env, "sim", "init", "--seed", "3")
    scv(env, "connectors", "apply")
    sim_run(env, "--rate", "20", "--duration", "10", "--seed", "3")
    scv(env, "pipeline", "run", "--until-idle", timeout=600)

    out = scv(env, "sim", "init", "--seed", "5")
    assert "starts over for a new world" in out
    assert "reference state" in out
    assert "deleted" in out
    scv(env, "connectors", "apply")
    run = sim_run(env, "--rate", "20", "--duration", "30", "--seed", "5", "--anomalies", "0.02")
    scv(env, "pipeline", "run", "--until-idle", timeout=600)
    verdict = scv(env, "sim", "verify", "--run", str(run))
    assert "sim verify: PASS" in verdict, verdict


def test_a_running_pipeline_is_not_reset(endpoints: dict[str, str], tmp_path: Path) -> None:
    env = namespaced_env(endpoints)
    log = tmp_path / "runner.log"
    with log.open("wb") as out:
        runner = subprocess.Popen(
            [sys.executable, "-m", "scv", "pipeline", "run"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 120
        while "assigned" not in log.read_text():
            assert runner.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        refused = subprocess.run(
            [sys.executable, "-m", "scv", "pipeline", "reset"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode == 2, refused.stderr
        assert "is running" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert runner.poll() is None, log.read_text()
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)
