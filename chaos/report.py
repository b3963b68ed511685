"""The generated section of ``docs/reliability.md``, pure: one table row per scenario from the
latest ``scv chaos run --all``, spliced between two markers so the hand-written page stays.

A row sums up every run of its scenario in that invocation (``--runs N``): passes out of runs,
then each figure as its range over the runs (``lo-hi``, or one number when they agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.errors import ChaosError
from chaos.verdict import Outcome

BEGIN = "<!-- scv chaos run --all: generated section, do not edit by hand -->"
END = "<!-- scv chaos run --all: end of the generated section -->"

HEADER = (
    "| scenario | fault | passes / runs | lag before the faults, p50 (s) "
    "| time to recover, worst fault (s) | events delayed "
    "| raw duplicates (= skipped as replayed) | canonical missing / duplicated / unexpected "
    "| reconcile mismatches | process restarts |"
)
RULE = "|---|---|---|---|---|---|---|---|---|---|"


def _span(values: Sequence[float | int | None], digits: int = 0) -> str:
    """``lo-hi`` of the values (``never`` if one is None: a fault never recovered from)."""
    if not values:
        return "-"
    if any(v is None for v in values):
        return "never"
    numbers = [float(v) for v in values if v is not None]
    lo, hi = min(numbers), max(numbers)

    def text(x: float) -> str:
        return f"{x:,.{digits}f}"

    return text(lo) if text(lo) == text(hi) else f"{text(lo)}-{text(hi)}"


def row(scenario: str, fault: str, outcomes: Sequence[Outcome]) -> str:
    passes = sum(1 for o in outcomes if o.passed)
    canonical = (
        "0 / 0 / 0"
        if all(not (o.missing or o.duplicated or o.unexpected) for o in outcomes)
        else ", ".join(f"{o.missing} / {o.duplicated} / {o.unexpected}" for o in outcomes)
    )
    duplicates = ", ".join(
        str(o.raw_duplicates) if o.raw_duplicates == o.replays_skipped
        else f"{o.raw_duplicates} (skipped {o.replays_skipped})"
        for o in outcomes
    )  # fmt: skip
    cells = [
        f"`{scenario}`",
        fault,
        f"{passes} / {len(outcomes)}",
        _span([o.lag_before_s for o in outcomes], 1),
        _span([o.worst_recover_s for o in outcomes], 1),
        _span([o.delayed for o in outcomes]),
        duplicates or "-",
        canonical,
        _span([o.reconcile_mismatches for o in outcomes]),
        _span([len(o.restarts) for o in outcomes]),
    ]
    return "| " + " | ".join(cells) + " |"


def section(
    outcomes: Sequence[Outcome],
    faults: dict[str, str],
    *,
    commit: str | None,
    run_id: str,
    started: str,
    rate: int,
) -> str:
    """The generated section, markers included."""
    by_scenario: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_scenario.setdefault(outcome.scenario, []).append(outcome)
    lines = [
        BEGIN,
        "",
        f"Latest `scv chaos run --all`: run `{run_id}`, commit `{commit or 'unknown'}`, "
        f"started {started}, the simulator at {rate} business transactions/s. Failures, if "
        "any, are listed under the table.",
        "",
        HEADER,
        RULE,
    ]
    lines += [row(name, faults.get(name, ""), runs) for name, runs in by_scenario.items()]
    failed = [o for o in outcomes if not o.passed]
    restarted = [o for o in outcomes if o.restarts]
    if failed or restarted:
        lines.append("")
        lines += [f"- `{o.scenario}` run {o.run}: {'; '.join(o.failures)}" for o in failed]
        lines += [
            f"- `{o.scenario}` run {o.run}, restarted by the supervisor: {'; '.join(o.restarts)}"
            for o in restarted
        ]
    lines += ["", END]
    return "\n".join(lines)


def splice(page: str, generated: str) -> str:
    """``page`` with its generated section replaced by ``generated`` (appended at the end if
    the page has none yet); the hand-written text around it is kept byte for byte."""
    begin, end = page.find(BEGIN), page.find(END)
    if begin == -1 and end == -1:
        return page.rstrip("\n") + "\n\n" + generated + "\n"
    if begin == -1 or end == -1 or end < begin:
        raise ChaosError("the page has one marker of the generated section but not the other")
    return page[:begin] + generated + page[end + len(END) :]
