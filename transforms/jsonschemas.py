"""Versioned JSON Schemas of the canonical events, and the compatibility rule they obey.

The schemas are generated from the models (``scv pipeline schemas --write``) and checked in
under ``transforms/schemas/<event_type>.v<version>.json`` (the working copy, what the running
code emits and ``scv serve`` answers at ``/schemas/<type>/v<N>``). A change to a model is
compatible when every consumer of the released schema can still read the new events: no
property is removed or retyped, and no property becomes newly required. Adding an optional
property is fine; anything else needs a new version (a new event type suffix and topic).

Compatibility is judged against the **released** baseline,
``transforms/schemas/released/<event_type>/v<version>.json``, never against the working copy:
``--write`` overwrites the working copy, so an incompatible change regenerated with it would
otherwise pass. ``scv pipeline schemas --release`` records the baseline: a new type or version
once, and afterwards only compatible changes (a release is never replaced by one its readers
could not read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from transforms.events import EVENT_TYPES, CanonicalEvent

SCHEMA_DIR = Path(__file__).parent / "schemas"
RELEASED_DIR = SCHEMA_DIR / "released"

JsonSchema = dict[str, Any]


def schema_path(event_type: str, version: int = 1, directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{event_type}.v{version}.json"


def released_path(event_type: str, version: int = 1, directory: Path = RELEASED_DIR) -> Path:
    return directory / event_type / f"v{version}.json"


def released(
    event_type: str, version: int = 1, directory: Path = RELEASED_DIR
) -> JsonSchema | None:
    """The released baseline of ``event_type`` at ``version`` (None: never released)."""
    path = released_path(event_type, version, directory)
    if not path.exists():
        return None
    schema: JsonSchema = orjson.loads(path.read_bytes())
    return schema


def version_of(model: type[CanonicalEvent]) -> int:
    version: int = model.model_fields["event_version"].default
    return version


def generate(model: type[CanonicalEvent]) -> JsonSchema:
    """The JSON Schema of one event as it appears on the wire (serialization mode)."""
    schema = model.model_json_schema(mode="serialization")
    event_type = model.model_fields["event_type"].default
    schema["$id"] = f"urn:scv:schema:{event_type}:v{version_of(model)}"
    return schema


def render(schema: JsonSchema) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    """(Re)generate every schema file; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, model in sorted(EVENT_TYPES.items()):
        path = schema_path(event_type, version_of(model), directory=directory)
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


def release_problems(directory: Path = RELEASED_DIR) -> dict[str, list[str]]:
    """Per event type, why the models cannot replace their released baseline (types whose
    models are compatible, or never released, are left out)."""
    found: dict[str, list[str]] = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        baseline = released(event_type, version_of(model), directory)
        if baseline is None:
            continue
        problems = compatibility_problems(baseline, generate(model))
        if problems:
            found[event_type] = problems
    return found


def release_all(directory: Path = RELEASED_DIR) -> list[Path]:
    """Record the models' schemas as released: new types and versions, and compatible changes.
    Raises ``SchemaIncompatible`` (writing nothing) when a model breaks its release."""
    from transforms.errors import SchemaIncompatible

    broken = release_problems(directory)
    if broken:
        raise SchemaIncompatible(
            "; ".join(f"{t}: {', '.join(p)}" for t, p in broken.items())
            + ": a released schema is never replaced by an incompatible one; add a new version"
        )
    written = []
    for event_type, model in sorted(EVENT_TYPES.items()):
        path = released_path(event_type, version_of(model), directory)
        fresh = render(generate(model))
        if path.exists() and path.read_bytes() == fresh:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fresh)
        written.append(path)
    return written
