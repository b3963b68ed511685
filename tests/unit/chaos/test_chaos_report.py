"""The generated section of docs/reliability.md (``chaos.report``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chaos.errors import ChaosError
from chaos.measure import Recovery
from chaos.report import BEGIN, END, row, section, splice
from chaos.verdict import Outcome


def _outcome(
    run: int, recover_s: float | None, duplicates: int, skipped: int, **kw: int
) -> Outcome:
    figures = {"missing": 0, "duplicated": 0, "unexpected": 0, "reconcile_mismatches": 0, **kw}
    failures = () if recover_s and duplicates == skipped and not any(kw.values()) else ("x",)
    return Outcome(
        scenario="connect-kill", run=run, chaos_run_id="r1", pipeline="p", sim_runs=(run,),
        recoveries=(Recovery("kill", 10.0, recover_s),), delayed=100 * run, lag_before_s=0.5 * run,
        raw_duplicates=duplicates, replays_skipped=skipped, canonical_events=5000,
        reconcile_keys=9, seconds=120.0, failures=failures, **figures,
    )  # fmt: skip


def test_a_row_sums_up_the_runs_of_a_scenario_as_ranges() -> None:
    runs = [_outcome(1, 12.25, 300, 300), _outcome(2, 8.0, 1500, 1500), _outcome(3, 9.0, 0, 0)]
    assert row("connect-kill", "kill -9", runs) == (
        "| `connect-kill` | kill -9 | 3 / 3 | 0.5-1.5 | 8.0-12.2 | 100-300 | 300, 1500, 0 "
        "| 0 / 0 / 0 | 0 | 0 |"
    )


def test_a_row_shows_what_failed() -> None:
    runs = [_outcome(1, None, 30, 29, duplicated=2), _outcome(2, 5.0, 0, 0)]
    assert row("connect-kill", "f", runs) == (
        "| `connect-kill` | f | 1 / 2 | 0.5-1.0 | never | 100-200 | 30 (skipped 29), 0 "
        "| 0 / 2 / 0, 0 / 0 / 0 | 0 | 0 |"
    )


def test_the_section_names_the_commit_and_run_and_lists_failures() -> None:
    text = section(
        [_outcome(1, 5.0, 0, 0), _outcome(2, None, 0, 0)],
        {"connect-kill": "kill -9"},
        commit="abc1234",
        run_id="r1",
        started="2026-12-04T17:00:00+00:00",
        rate=50,
    )
    assert text.startswith(BEGIN)
    assert text.endswith(END)
    assert "run `r1`, commit `abc1234`" in text
    assert "- `connect-kill` run 2: x" in text


def test_splice_keeps_the_hand_written_page_and_replaces_only_the_section() -> None:
    page = "# Title\n\nhand-written\n"
    first = splice(page, f"{BEGIN}\nold\n{END}")
    assert first == f"# Title\n\nhand-written\n\n{BEGIN}\nold\n{END}\n"
    again = splice(first + "\nafter\n", f"{BEGIN}\nnew\n{END}")
    assert again == f"# Title\n\nhand-written\n\n{BEGIN}\nnew\n{END}\n\nafter\n"


def test_a_page_with_one_marker_is_refused() -> None:
    with pytest.raises(ChaosError, match="one marker"):
        splice(f"text\n{BEGIN}\n", f"{BEGIN}\n{END}")


def test_restarts_by_the_supervisor_are_counted_and_listed() -> None:
    restarted = replace(_outcome(1, 5.0, 0, 0), restarts=("views exited 3",))
    text = section(
        [restarted], {}, commit=None, run_id="r1", started="2026-12-04T17:00:00+00:00", rate=50
    )
    assert text.splitlines()[6].endswith("| 0 | 1 |")
    assert "- `connect-kill` run 1, restarted by the supervisor: views exited 3" in text
