"""``scv status``: one line per stage, exit 1 when a stage breaches its SLO or is down, 0 when
every stage is up or only lagging (the readings faked at their boundary, ``scv.observe``)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import scv.observe
from metrics.status import StageReading
from scv.commands.status import status
from scv.exit_codes import ExitCode

UP = StageReading("connector erp", None, 0, None, None, detail="RUNNING, tasks RUNNING")
LAGGING = StageReading("pipeline", 1, 40, 2.0, 5.0, detail="group g")
BREACHING = StageReading("views", 1, 900, 61.5, 30.0, detail="schema views")
DOWN = StageReading("pipeline", 0, 0, None, 5.0, detail="group g")


def _invoke(monkeypatch: pytest.MonkeyPatch, readings: list[StageReading], *args: str) -> Any:
    monkeypatch.setenv("SCV_STORE_DSN", "postgresql://nobody@127.0.0.1:1/scv")
    monkeypatch.setattr(scv.observe, "status", lambda *_a, **_k: readings)
    return CliRunner().invoke(status, list(args), standalone_mode=False)


@pytest.mark.parametrize(
    ("readings", "code"),
    [
        ([UP, LAGGING], ExitCode.OK),
        ([UP, LAGGING, BREACHING], ExitCode.FAILED),
        ([UP, DOWN], ExitCode.FAILED),
    ],
)
def test_exit_code_follows_the_worst_stage(
    monkeypatch: pytest.MonkeyPatch, readings: list[StageReading], code: ExitCode
) -> None:
    result = _invoke(monkeypatch, readings)
    assert result.exception is None, result.output
    assert result.return_value == code
    assert len(result.output.splitlines()) == len(readings)


def test_one_line_per_stage_says_its_verdict_and_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _invoke(monkeypatch, [UP, LAGGING, BREACHING])
    assert result.output.splitlines() == [
        "connector erp: up (RUNNING, tasks RUNNING)",
        "pipeline: lagging (1 running, lag 40, oldest waiting 2.0s, SLO 5s, group g)",
        "views: breaching SLO (1 running, lag 900, oldest waiting 61.5s, SLO 30s, schema views)",
    ]
    rows = orjson.loads(_invoke(monkeypatch, [DOWN], "--json").output)
    assert [(r["stage"], r["verdict"]) for r in rows] == [("pipeline", "down")]
