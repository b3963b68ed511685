"""Imports flow one way, along the stages of the data flow:

    legacy_sim → connectors → transforms → expectations, carrier → views, edi → console
        → (bench, chaos, demo) → scv

A package imports only packages to its left, never one to its right or beside it. On top of
the order: the sources (``legacy_sim``, ``connectors``) import no stage (DESIGN.md); the EDI
stage reads only the canonical models; ``console``, the web console (``scv serve``), reads the
stages before it; ``scv``, the command line, is the only package that may import every other
one, and nothing imports it. ``bench``, ``chaos`` and ``demo`` are tools that drive the whole
chain, not stages: only the command line imports them (the demo starts the web console as
``scv serve``, a child process, as it starts every other stage).

Infrastructure sits outside the order: ``kafkaio`` (the Kafka client plumbing every Kafka
reader and writer shares), ``dsn`` (database URLs with their passwords kept out of
messages) and ``metrics`` (the metric catalogue and its registries) are usable by every
stage; ``stack`` (the launcher of the local stack) only by the tools and the console, since
a stage must run against any Kafka and database, not only the ones ``scv stack`` starts;
``audit`` (the trail of operator actions) by the tools and the console, which run the
actions. Infrastructure imports no stage; ``stack`` builds its URLs with ``dsn`` and its
Kafka clients with ``kafkaio``, ``audit`` writes with ``dsn`` and ``kafkaio``.

``carrier`` is the third source system, the carriers' tracking webhooks, but it emits the
canonical events itself (nothing maps them downstream), so it builds them with
``transforms.events`` and sits after ``transforms``, beside ``expectations``: its updates are
validated at its HTTP edge, not by the gate (``transforms.events.EDGE_VALIDATED``). The
simulator drives it over HTTP only, so no source imports it.

Every ``import`` of the project's own ``.py`` files counts, also those inside functions.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).parents[2]

#: The stages in data-flow order (packages of one tuple are side by side).
ORDER: tuple[tuple[str, ...], ...] = (
    ("legacy_sim",),
    ("connectors",),
    ("transforms",),
    ("expectations", "carrier"),
    ("views", "edi"),
    ("console",),
    ("bench", "chaos", "demo"),
    ("scv",),
)
RANK = {package: rank for rank, group in enumerate(ORDER) for package in group}
SOURCES = ("legacy_sim", "connectors")
TOOLS = ("bench", "chaos", "demo")
CLI = "scv"
#: Infrastructure, and who may use it.
INFRASTRUCTURE = {
    "kafkaio": frozenset({*RANK, "audit", "stack"}),
    "dsn": frozenset({*RANK, "stack", "audit"}),
    "metrics": frozenset(RANK),
    "stack": frozenset({*TOOLS, CLI}),
    "audit": frozenset({*TOOLS, CLI}),
}
PACKAGES = (*RANK, *INFRASTRUCTURE)

#: Imports against the order, each named, with its reason. Stale entries fail the test below.
#:
#: transforms → expectations: the runner gates each batch inside its consume-transform-produce
#: transaction, so its gate step (``transforms.quality``), its replay of the quarantine and its
#: sample events import the quality stage downstream of them. DESIGN.md allows it ("transforms
#: may import expectations"); ``expectations`` itself knows events by duck typing and imports no
#: transform. Turning it around (the pipeline taking a gate it does not import) touches the
#: runner, which is not to be restructured here.
BACK_EDGES = frozenset(
    {
        ("transforms.quality", "expectations.gate"),
        ("transforms.quality", "expectations.suites"),
        ("transforms.replay", "expectations.quarantine"),
        ("transforms.samples", "expectations.gtin"),
        ("transforms.samples", "expectations.suites"),
    }
)


def may_import(package: str) -> frozenset[str]:
    """The project's packages ``package`` may import."""
    infrastructure = {name for name, users in INFRASTRUCTURE.items() if package in users}
    if package in INFRASTRUCTURE:
        return frozenset(infrastructure)
    if package in SOURCES:
        return frozenset(infrastructure)
    return frozenset({p for p in RANK if RANK[p] < RANK[package]} | infrastructure)


class Import(NamedTuple):
    module: str  # the importing module, dotted
    imported: str  # the imported module as written
    where: str  # path:line

    @property
    def package(self) -> str:
        return self.module.split(".")[0]

    @property
    def target(self) -> str:
        return self.imported.split(".")[0]


def _imports(package: str) -> Iterator[Import]:
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:  # relative imports stay inside their package
                continue
            for name in names:
                if name.split(".")[0] in PACKAGES and name.split(".")[0] != package:
                    yield Import(module, name, f"{relative}:{node.lineno}")


IMPORTS = [i for package in PACKAGES for i in _imports(package)]


def test_every_top_level_package_has_its_place() -> None:
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    assert on_disk == shipped == set(PACKAGES)


def test_imports_follow_the_stage_order() -> None:
    wrong = [
        f"{i.where}: {i.module} imports {i.imported}"
        for i in IMPORTS
        if i.target not in may_import(i.package) and (i.module, i.imported) not in BACK_EDGES
    ]
    assert not wrong, "\n".join(wrong)


def test_every_allowed_back_edge_is_still_used() -> None:
    used = {(i.module, i.imported) for i in IMPORTS}
    assert not BACK_EDGES - used, sorted(BACK_EDGES - used)


def test_the_command_line_is_the_only_package_that_may_import_every_other() -> None:
    everything = set(PACKAGES)
    assert may_import(CLI) == everything - {CLI}
    assert [p for p in PACKAGES if CLI in may_import(p)] == []
    assert [p for p in PACKAGES if may_import(p) >= everything - {p}] == [CLI]


def test_the_sources_and_the_infrastructure_import_no_stage() -> None:
    for package in (*SOURCES, *INFRASTRUCTURE):
        assert may_import(package) <= set(INFRASTRUCTURE) - {"stack"}, package


def test_the_carrier_uses_only_the_canonical_models_of_the_stages() -> None:
    stages = {
        i.imported for i in IMPORTS if i.package == "carrier" and i.target not in INFRASTRUCTURE
    }
    assert stages <= {"transforms.events"}


def test_edi_reads_only_the_canonical_models() -> None:
    # Of the stages, only the canonical models. Since ``scv edi run`` (issue 18) consumes the
    # canonical topics and keeps its state in the database as the views do, it uses the
    # infrastructure the order already allows it (``kafkaio``, ``dsn``), and nothing else.
    stages = {i.imported for i in IMPORTS if i.package == "edi" and i.target not in INFRASTRUCTURE}
    assert stages <= {"transforms.events"}
