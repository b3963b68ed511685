"""Parity: GX itself and the hot-path evaluator flag exactly the same rows per expectation.

Batches come from ``transforms.samples``: clean events with nulled optional fields, plus one
defect per rule (null, outside the set or range, strict-bound value, unanchored near-match,
wrong type, duplicate, bad check digit). The ``mostly`` variant also compares GX's batch
verdict, which ``mostly`` changes while the failing rows stay the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expectations.evaluator import compile_suite
from expectations.gate import project
from expectations.gx import GxValidator, frame
from expectations.suites import Suite, load_suite, load_suites
from transforms.samples import sample_batch

GATING = load_suites("gating")


@pytest.fixture(scope="module")
def gx_validator() -> GxValidator:
    return GxValidator()


def _compare(suite: Suite, validator: GxValidator, seed: int) -> None:
    batch = sample_batch(suite.event_type, suite, size=120, seed=seed)
    compiled = compile_suite(suite)
    columns = project(batch.events, compiled.columns)
    ours = {r.spec.rule_id: r for r in compiled.evaluate(columns, len(batch.events))}
    theirs = validator.validate(suite, frame(columns, compiled.columns))
    assert set(theirs) == set(ours)
    for rule_id, result in ours.items():
        gx_result = theirs[rule_id]
        assert gx_result.exception is None, (rule_id, gx_result.exception)
        assert (rule_id, gx_result.unexpected) == (rule_id, result.unexpected)
        assert (rule_id, gx_result.success) == (rule_id, result.success)
    # Every injected defect is among the rows flagged by its own rule.
    for index, rule_id in batch.injected:
        assert index in ours[rule_id].unexpected, (index, rule_id)


@pytest.mark.parametrize("event_type", sorted(GATING))
def test_gx_and_the_evaluator_flag_the_same_rows(
    event_type: str, gx_validator: GxValidator
) -> None:
    _compare(GATING[event_type], gx_validator, seed=11)


@pytest.mark.parametrize("event_type", ["order.placed", "temperature.recorded", "item.upserted"])
def test_parity_holds_with_mostly(
    event_type: str, gx_validator: GxValidator, tmp_path: Path
) -> None:
    data = GATING[event_type].raw()
    for i, item in enumerate(data["expectations"]):
        # Alternate a threshold one defect passes and one it fails, so both verdicts occur.
        item["kwargs"]["mostly"] = 0.95 if i % 2 else 0.999
    data["name"] = f"{event_type}.mostly"
    path = tmp_path / f"{event_type}.json"
    path.write_text(json.dumps(data))
    suite = load_suite(path)
    _compare(suite, gx_validator, seed=5)
    compiled = compile_suite(suite)
    batch = sample_batch(event_type, suite, size=120, seed=5)
    results = compiled.evaluate(project(batch.events, compiled.columns), len(batch.events))
    assert {r.success for r in results} == {True, False}


def test_match_regex_is_a_search_in_both_executors(
    gx_validator: GxValidator, tmp_path: Path
) -> None:
    path = tmp_path / "loose.json"
    path.write_text(
        json.dumps(
            {
                "name": "loose",
                "meta": {"event_type": "order.placed", "purpose": "gating"},
                "expectations": [
                    {
                        "type": "expect_column_values_to_match_regex",
                        "kwargs": {"column": "sku", "regex": "[A-Z]{3}-\\d{5}"},
                        "meta": {"rule_id": "loose"},
                    },
                    {
                        "type": "expect_column_values_to_match_regex",
                        "kwargs": {"column": "sku", "regex": "^[A-Z]{3}-\\d{5}$"},
                        "meta": {"rule_id": "anchored"},
                    },
                ],
            }
        )
    )
    suite = load_suite(path)
    columns: dict[str, list[object]] = {"sku": ["ABC-12345", "xxABC-12345yy", None, "ab-1"]}
    ours = {r.spec.rule_id: r.unexpected for r in compile_suite(suite).evaluate(columns, 4)}
    theirs = {
        k: v.unexpected for k, v in gx_validator.validate(suite, frame(columns, ["sku"])).items()
    }
    assert ours == theirs == {"loose": (3,), "anchored": (1, 3)}


def test_compound_uniqueness_within_a_batch_is_the_same_in_both_executors(
    gx_validator: GxValidator, tmp_path: Path
) -> None:
    """No gating suite uses it since duplicates are found across batches by the mappers;
    the evaluator still supports it, so its parity stays covered here."""
    data = GATING["temperature.recorded"].raw()
    data["name"] = "temperature.recorded.in_batch"
    data["expectations"].append(
        {
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": ["sensor_id", "occurred_at"]},
            "meta": {"rule_id": "reading_unique_in_batch"},
            "severity": "critical",
        }
    )
    path = tmp_path / "in_batch.json"
    path.write_text(json.dumps(data))
    _compare(load_suite(path), gx_validator, seed=13)
