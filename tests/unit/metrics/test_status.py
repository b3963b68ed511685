"""``scv status``'s verdicts: down before breaching before lagging before up."""

from __future__ import annotations

import pytest

from metrics.status import StageReading, Verdict, line, verdict


def _stage(members: int | None = 1, lag: int = 0, oldest: float | None = None) -> StageReading:
    return StageReading("pipeline", members, lag, oldest, 30.0)


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (_stage(), Verdict.UP),
        (_stage(lag=12, oldest=29.9), Verdict.LAGGING),
        (_stage(lag=12, oldest=30.1), Verdict.BREACHING),
        (_stage(members=0), Verdict.DOWN),
        (_stage(members=0, lag=12, oldest=300.0), Verdict.DOWN),
        (StageReading("connector erp", None, 0, None, None, running=False), Verdict.DOWN),
        (StageReading("connector erp", None, 0, None, None), Verdict.UP),
    ],
)
def test_verdicts(reading: StageReading, expected: Verdict) -> None:
    assert verdict(reading) == expected


def test_only_breaching_and_down_fail() -> None:
    assert [v for v in Verdict if v.failed] == [Verdict.BREACHING, Verdict.DOWN]


def test_one_line_per_stage_with_its_figures() -> None:
    text = line(StageReading("views", 1, 40, 75.25, 60.0, detail="schema views"))
    assert text == (
        "views: breaching SLO (1 running, lag 40, oldest waiting 75.2s, SLO 60s, schema views)"
    )
