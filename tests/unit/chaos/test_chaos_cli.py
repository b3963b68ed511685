"""``scv chaos`` as a user meets it without a stack: the list, and usage mistakes."""

from __future__ import annotations

import subprocess
import sys

from chaos.scenarios import SCENARIOS


def _scv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scv", "chaos", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_list_names_every_scenario_with_its_fault() -> None:
    done = _scv("list")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(SCENARIOS)


def test_an_unknown_scenario_is_one_line_and_exit_2() -> None:
    done = _scv("run", "connect-kil")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "scv: error: unknown scenario connect-kil: `scv chaos list` names " + ", ".join(SCENARIOS)
    ]


def test_no_scenario_named_is_a_usage_error() -> None:
    done = _scv("run")
    assert done.returncode == 2
    assert "name a scenario" in done.stderr
