"""The benchmark's result as a rich table (the JSON is the result dict itself)."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def _goal(met: bool | None) -> str:
    return "[green]met[/]" if met else "[red]missed[/]"


#: B4's hops (``bench.hops``) as the table names them.
HOP_LABELS = {
    "capture": "Debezium capture",
    "raw_to_consume": "raw topic → runner consume",
    "runner_batch": "runner batch",
    "produce_fetch": "produce → readable",
    "commit": "transaction commit",
}


def _hops(out: Table, split: dict[str, Any]) -> None:
    """A B4 step's per-hop split, its floor and the p99 above it."""
    for hop, label in HOP_LABELS.items():
        found = split.get(hop)
        if found:
            out.add_row("", f"  {label} p50 / p99 ms",
                        f"{_fmt(found['p50'])} / {_fmt(found['p99'])}", "")  # fmt: skip
    floor = split.get("floor_ms")
    if floor:
        out.add_row("", "  floor: commit → raw topic p50 / p99 ms",
                    f"{_fmt(floor['p50_ms'])} / {_fmt(floor['p99_ms'])}",
                    f"p99 minus floor p99: {_fmt(split.get('p99_minus_floor_ms'))} ms, "
                    f"{_fmt(split.get('traced_events'))} events traced")  # fmt: skip


def table(result: dict[str, Any]) -> Table:
    out = Table(
        title=f"scv bench {result.get('run_id', '')}" + (" --quick" if result.get("quick") else "")
    )
    out.add_column("scenario")
    out.add_column("figure")
    out.add_column("value", justify="right")
    out.add_column("goal / note")

    def section(name: str) -> dict[str, Any]:
        found: dict[str, Any] = result.get(name) or {}
        if "error" in found:
            out.add_row(name.upper(), "[red]failed[/]", "", found["error"][:120])
        return found

    b1 = section("b1")
    if "messages_per_s" in b1:
        runs = b1.get("runs_messages_per_s", [])
        spread = f", median of {len(runs)}: " + " / ".join(_fmt(r) for r in runs) if runs else ""
        out.add_row("B1 passthrough", "messages/s", _fmt(b1["messages_per_s"]),
                    f"{b1['messages']:,} raw messages (denominator{spread})")  # fmt: skip
    b2 = section("b2")
    if "messages_per_s" in b2:
        out.add_row("B2 transform+gate", "messages/s", _fmt(b2["messages_per_s"]),
                    f"{b2['events']:,} events, {b2['quarantined']:,} quarantined")  # fmt: skip
        out.add_row("", "events/s", _fmt(b2["events_per_s"]), "")
        out.add_row("", "ratio to B1", _fmt(b2["ratio_to_b1"]),
                    f"≥ {b2['goal_ratio']}: {_goal(b2['goal_met'])}")  # fmt: skip
    b3 = section("b3")
    for source in ("erp", "wms"):
        if source in b3:
            d = b3[source]
            out.add_row(f"B3 Debezium drain {source}", "changes/s", _fmt(d["changes_per_s"]),
                        f"{d['messages']:,}/{d['expected']:,} changes, start-up "
                        f"{d['startup_s']} s")  # fmt: skip
    b4 = section("b4")
    for step in b4.get("steps", []):
        note = (
            f"achieved {_fmt(step['achieved_changes_per_s'])}/s, "
            f"{step['matched_events']:,}/{step['expected_events']:,} matched"
            + (", [red]lag grows[/]" if step["lag_grows"] else "")
            + (", [yellow]knee[/]" if step["knee"] else "")
        )
        out.add_row(f"B4 {step['target_changes_per_s']:,} changes/s", "p50 / p95 / p99 ms",
                    f"{_fmt(step['p50_ms'])} / {_fmt(step['p95_ms'])} / {_fmt(step['p99_ms'])}",
                    note)  # fmt: skip
        _hops(out, step.get("hops_ms") or {})
    if "goal_met" in b4:
        out.add_row("B4 goal", b4["goal"], "", _goal(b4["goal_met"]))
    b5 = section("b5")
    if "goal_met" in b5:
        out.add_row(f"B5 {b5['target_changes_per_s']:,} changes/s", "commit → 856 p50/p95/p99 ms",
                    f"{_fmt(b5['p50_ms'])} / {_fmt(b5.get('p95_ms'))} / {_fmt(b5['p99_ms'])}",
                    f"achieved {_fmt(b5['achieved_changes_per_s'])}/s, {b5['files_856']:,} files "
                    f"of {b5['dispatches']:,} dispatches; {b5['goal']}: "
                    f"{_goal(b5['goal_met'])}")  # fmt: skip
    b6 = section("b6")
    if "median_s" in b6:
        out.add_row("B6 846 build", "median / max s", f"{b6['median_s']} / {b6['max_s']}",
                    f"{b6['positions']:,} positions ({b6['items']:,} items x {b6['sites']} sites), "
                    f"{b6['bytes']:,} bytes, {b6['runs']} runs")  # fmt: skip
    for role, peak in (result.get("memory") or {}).items():
        out.add_row(f"memory {role}", "peak RSS / PSS MiB",
                    f"{_fmt(peak['peak_rss_mib'])} / {_fmt(peak['peak_pss_mib'])}",
                    f"{peak['processes']} process(es)")  # fmt: skip
    return out
