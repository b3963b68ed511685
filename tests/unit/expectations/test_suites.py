"""The suite files: one gating suite per canonical event type, columns that exist, row-level
rules only in gating suites, every rule compiled by the hot-path evaluator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from expectations.errors import SuiteError, UnsupportedExpectation
from expectations.evaluator import compile_suite
from expectations.suites import NESTED_SEPARATOR, ROW_LEVEL_TYPES, load_suite, load_suites
from transforms.events import EDGE_VALIDATED, EVENT_TYPES

GATING = load_suites("gating")
MONITORING = load_suites("monitoring")


def _field_exists(model: type[BaseModel], column: str) -> bool:
    parent, _, child = column.partition(NESTED_SEPARATOR)
    field = model.model_fields.get(parent)
    if field is None:
        return False
    if not child:
        return True
    nested = [a for a in getattr(field.annotation, "__args__", (field.annotation,))]
    return any(
        isinstance(t, type) and issubclass(t, BaseModel) and child in t.model_fields for t in nested
    )


def test_every_canonical_event_type_has_a_gating_suite() -> None:
    # Except the carrier's, validated at the receiver's edge (``EDGE_VALIDATED`` says why).
    assert set(EVENT_TYPES) - EDGE_VALIDATED <= set(GATING)
    assert not EDGE_VALIDATED & set(GATING)


def test_no_suite_for_an_event_type_that_does_not_exist() -> None:
    assert set(GATING) <= set(EVENT_TYPES)
    assert set(MONITORING) <= set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(GATING))
def test_every_column_a_suite_names_exists_on_the_event(event_type: str) -> None:
    model = EVENT_TYPES[event_type]
    suites = [GATING[event_type], *([MONITORING[event_type]] if event_type in MONITORING else [])]
    missing = [
        (spec.rule_id, column)
        for suite in suites
        for spec in suite.expectations
        for column in spec.columns
        if not _field_exists(model, column)
    ]
    assert missing == []


@pytest.mark.parametrize("event_type", sorted(GATING))
def test_gating_suites_hold_only_row_level_expectations(event_type: str) -> None:
    types = {spec.type for spec in GATING[event_type].expectations}
    assert types <= ROW_LEVEL_TYPES


def test_monitoring_suites_hold_the_aggregate_expectations() -> None:
    aggregate = {s.type for suite in MONITORING.values() for s in suite.expectations}
    assert aggregate - ROW_LEVEL_TYPES


def test_a_gating_suite_with_an_aggregate_expectation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        json.dumps(
            {
                "name": "x",
                "meta": {"event_type": "order.placed", "purpose": "gating"},
                "expectations": [
                    {
                        "type": "expect_column_mean_to_be_between",
                        "kwargs": {"column": "quantity", "min_value": 1},
                        "meta": {"rule_id": "mean"},
                    }
                ],
            }
        )
    )
    with pytest.raises(SuiteError, match="monitoring suite"):
        load_suite(path)


def test_an_unsupported_expectation_is_refused_at_load_time_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        json.dumps(
            {
                "name": "x",
                "meta": {"event_type": "order.placed", "purpose": "monitoring"},
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_dateutil_parseable",
                        "kwargs": {"column": "order_id"},
                        "meta": {"rule_id": "parseable"},
                    }
                ],
            }
        )
    )
    with pytest.raises(
        UnsupportedExpectation, match="expect_column_values_to_be_dateutil_parseable"
    ):
        compile_suite(load_suite(path))


def test_an_expectation_without_a_rule_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        json.dumps(
            {
                "meta": {"event_type": "order.placed", "purpose": "gating"},
                "expectations": [
                    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}
                ],
            }
        )
    )
    with pytest.raises(SuiteError, match="rule_id"):
        load_suite(path)


@pytest.mark.parametrize("event_type", sorted(GATING))
def test_gating_suites_compile(event_type: str) -> None:
    compiled = compile_suite(GATING[event_type])
    assert len(compiled.checks) == len(GATING[event_type].expectations)


def test_regexes_for_ids_and_codes_are_anchored() -> None:
    loose = [
        (suite.name, spec.rule_id)
        for suite in GATING.values()
        for spec in suite.expectations
        if spec.type.endswith("match_regex")
        and not (
            str(spec.kwargs["regex"]).startswith("^") and str(spec.kwargs["regex"]).endswith("$")
        )
    ]
    assert loose == []
