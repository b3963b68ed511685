"""The verdict of a scenario run (``chaos.verdict``): each broken condition is one reason."""

from __future__ import annotations

from chaos.measure import Recovery
from chaos.verdict import Outcome, failures

RECOVERED = (Recovery("connect kill -9", 100.0, 12.5), Recovery("connect kill -9", 130.0, 9.0))


def _failures(**changed: object) -> tuple[str, ...]:
    given: dict[str, object] = {
        "recoveries": RECOVERED,
        "raw_duplicates": 40,
        "replays_skipped": 40,
        "missing": 0,
        "duplicated": 0,
        "unexpected": 0,
        "reconcile_mismatches": 0,
    }
    return failures(**{**given, **changed})  # type: ignore[arg-type]


def test_a_clean_run_passes() -> None:
    assert _failures() == ()


def test_each_broken_condition_is_named() -> None:
    assert _failures(missing=2, duplicated=1) == (
        "sim verify: 2 missing, 1 duplicated, 0 unexpected",
    )
    assert _failures(unexpected=3) == ("sim verify: 0 missing, 0 duplicated, 3 unexpected",)
    assert _failures(reconcile_mismatches=4) == ("reconcile: 4 mismatches",)
    assert _failures(replays_skipped=39) == (
        "runner skipped 39 replayed changes, the raw topics hold 40 duplicates",
    )
    assert _failures(recoveries=(Recovery("x", 100.0, None),)) == (
        "x at 100.0: no new event visible afterwards",
    )


def test_a_run_without_a_fault_or_with_an_error_cannot_pass() -> None:
    assert _failures(recoveries=()) == ("no fault was injected",)
    assert _failures(recoveries=(), error="connect: exited") == ("error: connect: exited",)


def _outcome(recoveries: tuple[Recovery, ...]) -> Outcome:
    return Outcome(
        scenario="connect-kill", run=1, chaos_run_id="abc", pipeline="p", sim_runs=(7,),
        recoveries=recoveries, delayed=5, lag_before_s=0.4, raw_duplicates=40, replays_skipped=40,
        canonical_events=1000, missing=0, duplicated=0, unexpected=0, reconcile_keys=12,
        reconcile_mismatches=0, seconds=100.0,
    )  # fmt: skip


def test_the_worst_recovery_is_the_longest_or_none_if_one_never_recovered() -> None:
    assert _outcome(RECOVERED).worst_recover_s == 12.5
    assert _outcome((*RECOVERED, Recovery("y", 1.0, None))).worst_recover_s is None
    assert _outcome(()).worst_recover_s is None
    assert _outcome(RECOVERED).to_json()["passed"] is True
