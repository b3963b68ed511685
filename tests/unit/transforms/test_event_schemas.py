"""The committed JSON Schemas match the models, and incompatible changes are refused: judged
against the released baselines, which regenerating the working copy does not touch."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import orjson
import pytest

from transforms.errors import SchemaIncompatible
from transforms.events import EVENT_TYPES
from transforms.jsonschemas import (
    RELEASED_DIR,
    SCHEMA_DIR,
    JsonSchema,
    compatibility_problems,
    generate,
    release_all,
    release_problems,
    released,
    released_path,
    render,
    schema_path,
    write_all,
)


def _committed(event_type: str) -> JsonSchema:
    path = schema_path(event_type)
    assert path.exists(), f"{path} missing: run `scv pipeline schemas --write`"
    schema: JsonSchema = orjson.loads(path.read_bytes())
    return schema


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_models_stay_compatible_with_the_released_schema(event_type: str) -> None:
    baseline = released(event_type)
    assert baseline is not None, f"{event_type} never released: `scv pipeline schemas --release`"
    problems = compatibility_problems(baseline, generate(EVENT_TYPES[event_type]))
    assert problems == [], f"{event_type}: incompatible change {problems}; add a new version"


def test_every_release_belongs_to_a_model() -> None:
    on_disk = {p.relative_to(RELEASED_DIR) for p in RELEASED_DIR.rglob("*.json")}
    assert on_disk == {released_path(t).relative_to(RELEASED_DIR) for t in EVENT_TYPES}


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    """A copy of the released baselines to change."""
    shutil.copytree(RELEASED_DIR, tmp_path / "released")
    return tmp_path / "released"


def _edit_release(directory: Path, event_type: str, change: dict[str, JsonSchema]) -> bytes:
    path = released_path(event_type, directory=directory)
    schema = orjson.loads(path.read_bytes())
    schema["properties"].update(change)
    path.write_bytes(render(schema))
    return path.read_bytes()


def test_an_incompatible_change_fails_even_when_the_working_copy_was_regenerated(
    releases: Path, tmp_path: Path
) -> None:
    # Released with a property the model no longer has (as if the model dropped it): the
    # working copy regenerated from the model is self-consistent, the release is not.
    write_all(tmp_path / "working")
    before = _edit_release(releases, "order.placed", {"legacy_ref": {"type": "string"}})
    assert release_problems(releases) == {"order.placed": ["legacy_ref: removed"]}
    with pytest.raises(SchemaIncompatible, match=r"order\.placed: legacy_ref: removed"):
        release_all(releases)
    assert released_path("order.placed", directory=releases).read_bytes() == before


def test_a_compatible_change_is_released(releases: Path) -> None:
    # Released before the model gained an optional property: compatible, and --release
    # records the new shape (and only it).
    path = released_path("order.placed", directory=releases)
    schema = orjson.loads(path.read_bytes())
    optional = sorted(set(schema["properties"]) - set(schema["required"]))[0]
    del schema["properties"][optional]
    path.write_bytes(render(schema))
    assert release_problems(releases) == {}
    assert release_all(releases) == [path]
    assert path.read_bytes() == render(generate(EVENT_TYPES["order.placed"]))
    assert release_all(releases) == []


def test_a_new_event_type_is_released_once(releases: Path) -> None:
    shutil.rmtree(releases / "order.placed")
    assert release_all(releases) == [released_path("order.placed", directory=releases)]
    assert release_all(releases) == []


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
