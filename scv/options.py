"""Click options shared by several verbs: a DSN option whose password travels in the environment.

A command line is readable by every local user (``ps``, ``/proc/<pid>/cmdline``) and kept in
shell history, so ``--erp-dsn`` and its kind read their environment variable by default and
refuse a DSN with a password given on the command line. A malformed DSN is refused before a
driver parses it (and quotes its pieces in an error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., object])


def dsn_option(flag: str, envvar: str, what: str) -> Callable[[F], F]:
    """``flag`` (like ``--erp-dsn``), read from ``envvar`` unless given; ``what`` it reaches."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        import dsn

        if value is None:
            return None
        wrong = dsn.problem(value)
        if wrong:
            raise click.BadParameter(wrong, ctx=ctx, param=param)
        source = ctx.get_parameter_source(param.name or "")
        if source is ParameterSource.COMMANDLINE and dsn.password(value):
            raise click.BadParameter(
                f"a password on the command line is visible to every local user; "
                f"set {envvar} in the environment instead",
                ctx=ctx,
                param=param,
            )
        return value

    return click.option(
        flag,
        envvar=envvar,
        default=None,
        callback=check,
        help=f"{what}. Default: ${envvar} (the environment, so that the password stays off the "
        "command line; a DSN with a password is refused here), else the local stack.",
    )


def split_given(
    ctx: click.Context, **values: object
) -> tuple[dict[str, object], dict[str, object]]:
    """Option ``values`` by name: those given on the command line, and the others (defaults).

    ``scv.settings`` ranks the first above the environment and the second below it.
    """
    given = {
        name: value
        for name, value in values.items()
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }
    return given, {name: value for name, value in values.items() if name not in given}


def metrics_port_option(f: F) -> F:
    """``--metrics-port``: serve the process's metrics at http://127.0.0.1:PORT/metrics."""
    option = click.option(
        "--metrics-port",
        type=click.IntRange(1, 65535),
        default=None,
        help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (docs/metrics.md).",
    )
    return option(f)
