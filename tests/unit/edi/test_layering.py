"""The EDI stage imports the canonical models and nothing downstream; nothing imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[3]
PACKAGES = ("scv", "stack", "connectors", "transforms", "expectations", "legacy_sim", "bench")
PACKAGES += ("views", "demo", "kafkaio")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_edi_imports_only_the_canonical_models_of_the_project() -> None:
    project = set(PACKAGES)
    for path in sorted((ROOT / "edi").rglob("*.py")):
        used = {name for name in _imports(path) if name.split(".")[0] in project}
        assert used <= {"transforms.events"}, f"{path.name} imports {sorted(used)}"


def test_no_other_stage_imports_edi() -> None:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            used = {name for name in _imports(path) if name.split(".")[0] == "edi"}
            assert not used, f"{path} imports {sorted(used)}"
