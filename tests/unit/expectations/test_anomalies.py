"""Every simulator anomaly has the rule that must quarantine it, and that rule exists."""

from __future__ import annotations

from expectations.anomalies import EXPECTED_RULES, expected_rule
from expectations.suites import load_suites
from legacy_sim.anomalies import DEFECTS


def test_every_simulator_anomaly_has_an_expected_rule() -> None:
    assert set(DEFECTS) <= set(EXPECTED_RULES)


def test_every_gate_rule_named_exists_in_its_gating_suite() -> None:
    suites = load_suites("gating")
    missing = [
        (anomaly, event_type, rule)
        for anomaly, (event_type, rule) in EXPECTED_RULES.items()
        if not rule.startswith("map:")
        and rule not in {s.rule_id for s in suites[event_type].expectations}
    ]
    assert missing == []


def test_mapper_reasons_are_returned_without_their_prefix() -> None:
    assert expected_rule("unknown_sku") == "unknown_item"
    assert expected_rule("no_such_anomaly") is None
