"""The quality gate in the pipeline's route step: failing events quarantine their message with
headers naming the suite, every failed rule, the first one, the event and the origin."""

from __future__ import annotations

import random

import orjson

from expectations.suites import load_suites
from transforms.pipeline import Emit, Quarantine, RawMessage, quarantine_headers, route
from transforms.quality import QualityGate
from transforms.samples import clean_event

GATE = QualityGate.load()


def _raw(offset: int) -> RawMessage:
    return RawMessage(topic="erp.proddta.f4211", partition=2, offset=offset, key=b"k", value=b"v")


def test_clean_events_pass_and_a_bad_one_quarantines_its_message() -> None:
    rng = random.Random(3)
    good = clean_event("order.placed", 1, rng)
    bad = clean_event("order.placed", 2, rng).model_copy(
        update={"status": "5X0", "quantity": -good.quantity}
    )
    batch = [(_raw(10), Emit((good,))), (_raw(11), Emit((bad,)))]
    routed = route(batch, GATE)
    assert isinstance(routed[0][1], Emit)
    outcome = routed[1][1]
    assert isinstance(outcome, Quarantine)
    # Suite order: quantity rules come before the status rule.
    assert outcome.rules == ("quantity_positive", "quantity_whole_count_unit", "status_known")
    assert outcome.reason == "quantity_positive"
    headers = dict(quarantine_headers(routed[1][0], outcome, instance="t-0"))
    suite = load_suites("gating")["order.placed"]
    assert headers["dq.suite"] == suite.label.encode()
    assert headers["__rule.name"] == b"quantity_positive"
    assert orjson.loads(headers["dq.failed_rules"]) == list(outcome.rules)  # type: ignore[arg-type]
    assert headers["dq.event_id"] == str(bad.event_id).encode()
    assert headers["dq.event_type"] == b"order.placed"
    assert headers["scv_original_offset"] == b"11"
    assert headers["scv_original_partition"] == b"2"


def test_a_warning_rule_does_not_stop_an_event() -> None:
    gate = QualityGate.load()
    suite = gate.gate.suites["order.placed"]
    for check in suite.checks:
        if check.spec.rule_id == "status_known":
            object.__setattr__(check.spec, "severity", "warning")
    try:
        bad = clean_event("order.placed", 2, random.Random(3)).model_copy(update={"status": "5X0"})
        assert gate.reject([bad]) == []
    finally:
        for check in suite.checks:
            if check.spec.rule_id == "status_known":
                object.__setattr__(check.spec, "severity", "critical")
