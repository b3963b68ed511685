"""The CLI's error boundary: a known error of any stage becomes one line and an exit code.

Each stage package has one exception root with an ``exit_code``; the boundary only needs the
roots. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import click

#: Exit codes: 0 ok, 1 checks failed (verify, plan with changes), 2 user or config error,
#: 3 runtime error (a component failed).
EXIT_USAGE = 2


def _known_roots() -> tuple[type[Exception], ...]:
    from connectors.errors import ConnectorsError
    from demo.errors import DemoError
    from expectations.errors import ExpectationsError
    from kafkaio.errors import KafkaIOError
    from legacy_sim.errors import SimError
    from stack.errors import StackError
    from transforms.errors import TransformsError
    from views.errors import ViewsError

    return (
        StackError,
        SimError,
        ConnectorsError,
        TransformsError,
        ViewsError,
        ExpectationsError,
        DemoError,
        KafkaIOError,
    )


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"scv: error: {message}", err=True)
    sys.exit(code)


def run_with_boundary(entry: Callable[[], object]) -> None:
    try:
        result = entry()
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        fail(f"{exc.format_message()}{hint}", EXIT_USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except _known_roots() as exc:
        fail(str(exc), getattr(exc, "exit_code", 3))
    sys.exit(result if isinstance(result, int) else 0)
