"""The CLI's error boundary: a known error of any stage becomes one line and an exit code.

Each stage package has one exception root with an ``exit_code`` (a value of
``scv.exit_codes.ExitCode``); the boundary only needs the roots. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import click

from scv.exit_codes import ExitCode


def _known_roots() -> tuple[type[Exception], ...]:
    from audit.errors import AuditError
    from bench.errors import BenchError
    from carrier.errors import CarrierError
    from chaos.errors import ChaosError
    from connectors.errors import ConnectorsError
    from console.errors import ConsoleError
    from demo.errors import DemoError
    from edi.errors import EdiError
    from expectations.errors import ExpectationsError
    from kafkaio.errors import KafkaIOError
    from legacy_sim.errors import SimError
    from metrics.errors import MetricsError
    from stack.errors import StackError
    from transforms.errors import TransformsError
    from views.errors import ViewsError

    return (
        StackError,
        SimError,
        ConnectorsError,
        TransformsError,
        ViewsError,
        EdiError,
        CarrierError,
        ExpectationsError,
        ConsoleError,
        BenchError,
        ChaosError,
        DemoError,
        KafkaIOError,
        AuditError,
        MetricsError,
    )


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"scv: error: {message}", err=True)
    sys.exit(int(code))


def run_with_boundary(entry: Callable[[], object]) -> None:
    try:
        result = entry()
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        fail("aborted", ExitCode.INTERRUPTED)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        fail(f"{exc.format_message()}{hint}", ExitCode.USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)
    except _known_roots() as exc:
        fail(str(exc), getattr(exc, "exit_code", ExitCode.ERROR))
    # A verb returns its ExitCode (``demo`` passes on the code of the verify it ran).
    sys.exit(int(result) if isinstance(result, int) else ExitCode.OK)
