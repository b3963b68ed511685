"""The registry holds the mappers ``transforms.registry.MAPPERS`` lists: every mapper module's
mapper once, one per captured table, and no import registers anything by itself."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import transforms.mappers
from connectors.specs import load_specs
from transforms.envelope import ChangeEvent
from transforms.errors import DuplicateMapper
from transforms.mapping import Mapper, Output, mapper
from transforms.reference import Reference
from transforms.registry import MAPPERS, MapperRegistry, default_registry

MAPPERS_DIR = Path(transforms.mappers.__file__).parent


def _mapper_modules() -> list[str]:
    return [f"transforms.mappers.{m.name}" for m in pkgutil.iter_modules([str(MAPPERS_DIR)])]


def test_every_mapper_module_s_mapper_is_listed_once() -> None:
    declared = set()
    for name in _mapper_modules():
        module = importlib.import_module(name)
        found = [
            v for v in vars(module).values() if isinstance(v, Mapper) and v.fn.__module__ == name
        ]
        assert len(found) == 1, f"{name} declares {len(found)} mappers"
        declared |= set(found)
    assert len(MAPPERS) == len(set(MAPPERS))
    assert set(MAPPERS) == declared


def test_the_default_registry_maps_every_captured_table() -> None:
    captured = {(s.name, t) for s in load_specs().values() for t in s.tables}
    assert {(m.system, m.table) for m in default_registry()} == captured


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_import_circle_between_the_mappers_and_the_registry() -> None:
    """The mappers and their helpers know nothing of the registry; the helpers no mapper."""
    for path in MAPPERS_DIR.glob("*.py"):
        assert "transforms.registry" not in _imported(path), path.name
    helpers = _imported(MAPPERS_DIR.parent / "mapping.py")
    assert not {n for n in helpers if n.startswith(("transforms.registry", "transforms.mappers"))}


def test_two_mappers_for_one_table_are_refused() -> None:
    @mapper("erp", "f4101", columns=["imitm"])
    def other(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
        return iter(())

    with pytest.raises(DuplicateMapper, match=r"two mappers for erp\.f4101"):
        MapperRegistry([*MAPPERS, other])


def test_a_declared_mapper_is_still_called_like_its_function() -> None:
    @mapper("erp", "x", columns=["a"], reference=True)
    def seen(change: ChangeEvent, ref: Reference) -> Iterator[Output]:
        yield from ()

    assert (seen.system, seen.table, seen.reference) == ("erp", "x", True)
    assert seen.columns == frozenset({"a"})
    assert seen.name.endswith(".<locals>.seen")
    assert list(seen(None, None)) == []  # type: ignore[arg-type]


def test_mappers_are_listed_in_the_order_of_the_specs_tables() -> None:
    captured = [(s.name, t) for s in load_specs().values() for t in s.tables]
    assert [(m.system, m.table) for m in MAPPERS] == captured
