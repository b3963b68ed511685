"""The committed JSON Schemas match the models, and incompatible changes are refused."""

from __future__ import annotations

import copy

import orjson
import pytest

from transforms.events import EVENT_TYPES
from transforms.jsonschemas import (
    SCHEMA_DIR,
    JsonSchema,
    compatibility_problems,
    generate,
    render,
    schema_path,
)


def _committed(event_type: str) -> JsonSchema:
    path = schema_path(event_type)
    assert path.exists(), f"{path} missing: run `scv pipeline schemas --write`"
    schema: JsonSchema = orjson.loads(path.read_bytes())
    return schema


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_models_stay_compatible_with_the_committed_schema(event_type: str) -> None:
    problems = compatibility_problems(_committed(event_type), generate(EVENT_TYPES[event_type]))
    assert problems == [], f"{event_type}: incompatible change {problems}; add a new version"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_committed_schema_is_regenerated(event_type: str) -> None:
    fresh = render(generate(EVENT_TYPES[event_type]))
    assert schema_path(event_type).read_bytes() == fresh, "run `scv pipeline schemas --write`"


def test_no_stale_schema_files() -> None:
    expected = {schema_path(t).name for t in EVENT_TYPES}
    assert {p.name for p in SCHEMA_DIR.glob("*.json")} == expected


def _order_placed() -> JsonSchema:
    return generate(EVENT_TYPES["order.placed"])


def test_removing_a_field_is_incompatible() -> None:
    new = copy.deepcopy(_order_placed())
    del new["properties"]["customer_po"]
    assert compatibility_problems(_order_placed(), new) == ["customer_po: removed"]


def test_retyping_a_field_is_incompatible() -> None:
    new = copy.deepcopy(_order_placed())
    new["properties"]["quantity"] = {"type": "number"}
    assert compatibility_problems(_order_placed(), new) == ["quantity: type changed"]


def test_retyping_a_nested_field_is_incompatible() -> None:
    new = copy.deepcopy(_order_placed())
    new["$defs"]["Quantity"]["properties"]["value"] = {"type": "number"}
    assert compatibility_problems(_order_placed(), new) == ["original.value: type changed"]


def test_adding_a_required_field_is_incompatible() -> None:
    new = copy.deepcopy(_order_placed())
    new["properties"]["priority"] = {"type": "string"}
    new["required"].append("priority")
    assert compatibility_problems(_order_placed(), new) == ["priority: new required property"]


def test_adding_an_optional_field_is_compatible() -> None:
    new = copy.deepcopy(_order_placed())
    new["properties"]["priority"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert compatibility_problems(_order_placed(), new) == []
