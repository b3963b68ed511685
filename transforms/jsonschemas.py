"""Versioned JSON Schemas of the canonical events, and the compatibility rule they obey.

The schemas are generated from the models (``scv pipeline schemas --write``) and checked in
under ``transforms/schemas/<event_type>.v<version>.json``. A change to a model is compatible
when every consumer of the committed schema can still read the new events: no property is
removed or retyped, and no property becomes newly required. Adding an optional property is
fine; anything else needs a new version (a new event type suffix and topic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from transforms.events import EVENT_TYPES, CanonicalEvent

SCHEMA_DIR = Path(__file__).parent / "schemas"

JsonSchema = dict[str, Any]


def schema_path(event_type: str, version: int = 1, directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{event_type}.v{version}.json"


def generate(model: type[CanonicalEvent]) -> JsonSchema:
    """The JSON Schema of one event as it appears on the wire (serialization mode)."""
    schema = model.model_json_schema(mode="serialization")
    event_type = model.model_fields["event_type"].default
    schema["$id"] = f"urn:scv:schema:{event_type}:v1"
    return schema


def render(schema: JsonSchema) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    """(Re)generate every schema file; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, model in sorted(EVENT_TYPES.items()):
        path = schema_path(event_type, directory=directory)
        path.write_bytes(render(generate(model)))
        written.append(path)
    return written


def _resolve(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: JsonSchema = root["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return schema


def _shape(schema: JsonSchema, root: JsonSchema) -> Any:
    """A comparable summary of a property's type, following ``$ref`` and ``anyOf``."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return ("anyOf", sorted(repr(_shape(s, root)) for s in schema["anyOf"]))
    if schema.get("type") == "array":
        return ("array", _shape(schema.get("items", {}), root))
    if "properties" in schema:
        return ("object", {k: _shape(v, root) for k, v in sorted(schema["properties"].items())})
    return (schema.get("type"), schema.get("format"), schema.get("const"), schema.get("enum"))


def _compare_object(
    old: JsonSchema, new: JsonSchema, old_root: JsonSchema, new_root: JsonSchema, where: str
) -> list[str]:
    problems: list[str] = []
    old_props: dict[str, JsonSchema] = old.get("properties", {})
    new_props: dict[str, JsonSchema] = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{where}{name}: removed")
            continue
        o = _resolve(old_prop, old_root)
        n = _resolve(new_props[name], new_root)
        if "properties" in o and "properties" in n:
            problems += _compare_object(o, n, old_root, new_root, f"{where}{name}.")
        elif _shape(o, old_root) != _shape(n, new_root):
            problems.append(f"{where}{name}: type changed")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        change = "became required" if name in old_props else "new required property"
        problems.append(f"{where}{name}: {change}")
    return problems


def compatibility_problems(old: JsonSchema, new: JsonSchema) -> list[str]:
    """Why ``new`` cannot replace ``old`` under the same version; empty when compatible."""
    return _compare_object(old, new, old, new, "")
