"""/proc parsing of the memory sampler, and the ledger's volume arithmetic."""

from __future__ import annotations

from pathlib import Path

from bench.ledger import volume
from bench.memory import (
    Peak,
    Sample,
    descendants,
    parse_ppid,
    parse_pss_kib,
    parse_status_rss_kib,
    sample,
)

STATUS = "Name:\tjava\nVmPeak:\t 9000 kB\nVmRSS:\t  123456 kB\nThreads:\t80\n"
ROLLUP = "Rss:              123456 kB\nPss:               99000 kB\nPss_Anon: 1 kB\n"


def test_status_and_rollup_fields() -> None:
    assert parse_status_rss_kib(STATUS) == 123456
    assert parse_status_rss_kib("Name:\tkthreadd\n") is None
    assert parse_pss_kib(ROLLUP) == 99000


def test_ppid_survives_spaces_and_parentheses_in_the_command() -> None:
    assert parse_ppid("4242 (postgres: walsender (x) ) S 7412 4242 4242 0 -1") == 7412


def test_descendants_walk_the_whole_tree_once() -> None:
    tree = {1: [2, 3], 2: [4], 4: [2]}
    assert sorted(descendants([1], tree)) == [1, 2, 3, 4]


def test_sample_sums_a_tree_from_a_fake_proc(tmp_path: Path) -> None:
    for pid, rss in ((10, 1000), (11, 500)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "status").write_text(f"VmRSS:\t{rss} kB\n")
        (tmp_path / str(pid) / "smaps_rollup").write_text(f"Pss:\t{rss // 2} kB\n")
    assert sample([10, 11, 12], proc=tmp_path) == Sample(2, 1500, 750)


def test_peak_keeps_the_maximum_and_ignores_empty_samples() -> None:
    peak = Peak()
    for found in (Sample(1, 100, 90), Sample(0, 0, 0), Sample(2, 80, 120)):
        peak.add(found)
    assert peak.as_dict() == {
        "processes": 2,
        "peak_rss_mib": round(100 / 1024, 1),
        "peak_pss_mib": round(120 / 1024, 1),
        "samples": 2,
    }


def test_volume_counts_changes_and_tombstones_per_source() -> None:
    rows = [
        {
            "committed": True,
            "erp_commit_ns": 1_000_000_000,
            "wms_commit_ns": 1_500_000_000,
            "row_changes": {"erp.proddta.f4211": {"c": 3}, "wms.wmwhse1.ORDERS": {"u": 1, "d": 2}},
        },
        {
            "committed": False,
            "erp_commit_ns": None,
            "wms_commit_ns": None,
            "row_changes": {"erp.proddta.f4211": {"c": 50}},
        },
        {
            "committed": True,
            "erp_commit_ns": 3_000_000_000,
            "wms_commit_ns": None,
            "row_changes": {"erp.proddta.f41021": {"u": 2}},
        },
    ]
    found = volume(rows, {"erp": True, "wms": True})
    assert (found.committed_tx, found.changes) == (2, 8)
    assert found.messages == {"erp": 5, "wms": 5}  # two deletes → two tombstones
    assert found.span_s == 2.0
    assert found.changes_per_tx == 4.0
    assert volume(rows, {"wms": False}).messages["wms"] == 3
