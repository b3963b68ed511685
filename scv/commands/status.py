"""``scv status``: one line per stage (up / lagging / breaching SLO / down); exit 1 when a
stage breaches its freshness SLO or is down (docs/metrics.md)."""

from __future__ import annotations

import click

from scv.exit_codes import ExitCode


@click.command()
@click.option("--json", "as_json", is_flag=True, help="The readings as JSON.")
def status(as_json: bool) -> ExitCode:
    """Each stage's state: connectors, pipeline, views (exit 1: breaching SLO or down)."""
    from connectors.specs import load_specs
    from metrics.status import line, verdict
    from scv.observe import status as read_status
    from scv.settings import connectors_settings, transforms_settings, views_settings

    readings = read_status(
        transforms_settings(),
        views_settings(),
        (list(load_specs().values()), connectors_settings()),
    )
    if as_json:
        import dataclasses

        import orjson

        rows = [dataclasses.asdict(r) | {"verdict": str(verdict(r))} for r in readings]
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    else:
        for reading in readings:
            click.echo(line(reading))
    return ExitCode.FAILED if any(verdict(r).failed for r in readings) else ExitCode.OK
