"""One set of exit codes: every code a verb or a stage's error chooses is an ``ExitCode``."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from legacy_sim.errors import NotInitialised
from scv.errors import _known_roots, run_with_boundary
from scv.exit_codes import ExitCode

ROOT = Path(__file__).parents[3]
STAGES = ("stack", "legacy_sim", "connectors", "transforms", "expectations", "views", "edi",
          "bench", "demo", "kafkaio", "dsn", "audit", "carrier")  # fmt: skip


def _declared_exit_codes() -> list[tuple[str, object]]:
    """Every ``exit_code = ...`` of a class body in the stages, with where it is."""
    found = []
    for package in STAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ClassDef):
                    continue
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and [
                        getattr(t, "id", None) for t in statement.targets
                    ] == ["exit_code"]:
                        where = f"{path.relative_to(ROOT)}:{node.name}"
                        found.append((where, ast.literal_eval(statement.value)))
    return found


def test_every_error_of_every_stage_exits_with_an_exit_code_member() -> None:
    declared = _declared_exit_codes()
    assert len(declared) > 20
    wrong = [f"{where} = {code!r}" for where, code in declared if code not in set(ExitCode)]
    assert not wrong, wrong


def test_every_root_the_boundary_knows_has_an_exit_code() -> None:
    for root in _known_roots():
        assert ExitCode(root.exit_code), root  # type: ignore[attr-defined]


def _exit_of(entry: Callable[[], object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        run_with_boundary(entry)
    return int(done.value.code or 0), capsys.readouterr().err


def _raise(exc: BaseException) -> Callable[[], object]:
    def entry() -> object:
        raise exc

    return entry


@pytest.mark.parametrize(
    ("entry", "code", "err"),
    [
        pytest.param(lambda: None, ExitCode.OK, "", id="a verb that returns nothing"),
        pytest.param(lambda: ExitCode.FAILED, ExitCode.FAILED, "", id="a check that failed"),
        pytest.param(lambda: 5, 5, "", id="a code passed on (demo)"),
        pytest.param(
            _raise(NotInitialised()),
            ExitCode.USAGE,
            "scv: error: the simulated databases are not initialised: run `scv sim init` first\n",
            id="a stage's error",
        ),
        pytest.param(
            _raise(click.UsageError("no such thing")),
            ExitCode.USAGE,
            "scv: error: no such thing\n",
            id="a usage error",
        ),
        pytest.param(
            _raise(KeyboardInterrupt()),
            ExitCode.INTERRUPTED,
            "scv: error: interrupted\n",
            id="Ctrl-C",
        ),
    ],
)
def test_the_boundary_exits_with_the_chosen_code(
    entry: Callable[[], object], code: int, err: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_of(entry, capsys) == (code, err)


def test_the_numbers_do_not_move() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "FAILED": 1, "USAGE": 2, "ERROR": 3, "TEMPFAIL": 75, "INTERRUPTED": 130,
    }  # fmt: skip
