"""``scv bench``: throughput, latency and memory of the pipeline on the running local stack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from scv.exit_codes import ExitCode

if TYPE_CHECKING:
    from bench.settings import BenchSettings


#: ``--quick``: small backlog, short steps, so the whole run stays under three minutes.
QUICK = {"backlog_tx": 2000, "step_s": 8.0, "settle_s": 8.0}


def build_settings(
    ctx: click.Context,
    quick: bool,
    instances: int,
    keep_topics: bool,
    profile_dir: Path | None = None,
) -> BenchSettings:
    """Options given win over ``SCV_BENCH_*`` variables, which win over the options' defaults,
    ``--quick``'s sizes and the running stack's endpoints (``scv.settings``)."""
    from scv.options import split_given
    from scv.settings import bench_settings

    given, implied = split_given(
        ctx, quick=quick, instances=instances, keep_topics=keep_topics, profile_dir=profile_dir
    )
    return bench_settings(given, {**implied, **(QUICK if quick else {})})


@click.command()
@click.option("--quick", is_flag=True, help="Small backlog and short steps (under 3 minutes).")
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Also write the result as JSON to FILE.",
)  # fmt: skip
@click.option("--instances", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Runner (and passthrough) instances in the consumer group.")  # fmt: skip
@click.option("--keep-topics", is_flag=True, help="Keep the benchmark's topics for inspection.")
@click.option(
    "--profile", "profile_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Record py-spy profiles of the B2 runner instances into DIR (needs py-spy).",
)  # fmt: skip
@click.option(
    "--only", type=click.Choice(["b2", "b4", "b5", "b6"]), default=None,
    help="Only this scenario: b2 (B3's backlog, B1 and B2: the throughput ratio), b4 (B3's "
    "backlog, then the latency steps with their per-hop split), b5 (dispatch commit → 856 "
    "in the outbox; re-initialises the legacy databases) or b6 (the midsize 846 build, no "
    "stack).",
)  # fmt: skip
def bench(
    quick: bool,
    json_path: Path | None,
    instances: int,
    keep_topics: bool,
    profile_dir: Path | None,
    only: str | None,
) -> ExitCode:
    """Measure B1 passthrough, B2 transform+gate, B3 Debezium drain, B4 latency, B5 dispatch
    → 856 file, B6 846 build, memory.

    Uses the running stack (`scv stack up`, `scv connectors apply`). It re-initialises the
    legacy databases (`scv sim init`) and stops each connector for a moment (B3).
    """
    import os

    import orjson
    from rich.console import Console

    from bench.errors import StackNotReady
    from bench.report import table
    from bench.run import Bench
    from stack import launcher
    from stack.settings import StackSettings

    console = Console(stderr=True, highlight=False)
    if only == "b6":
        from bench.edi846 import measure

        with console.status("bench: b6 (the 846 of the midsize profile)"):
            result = {"b6": measure()}
        Console(highlight=False).print(table(result))
        if json_path is not None:
            json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
        return ExitCode.OK
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    settings = build_settings(
        click.get_current_context(), quick, instances, keep_topics, profile_dir
    )
    rows = launcher.status(StackSettings())
    down = [r.name for r in rows if r.state != "running" or r.pid is None]
    if down:
        raise StackNotReady(f"the stack is not running ({', '.join(down)}): `scv stack up`")
    env = {
        **os.environ,
        "SCV_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SCV_ERP_DSN": settings.erp_dsn.get_secret_value(),
        "SCV_SIM_ERP_DSN": settings.erp_dsn.get_secret_value(),
        "SCV_SIM_WMS_DSN": settings.wms_dsn.get_secret_value(),
        "SCV_SIM_STORE_DSN": settings.store_dsn.get_secret_value(),
    }
    with console.status("bench: starting") as live:
        run = Bench(
            settings,
            env,
            {r.name: r.pid for r in rows if r.pid is not None},
            say=lambda line: console.print(f"bench: {line}"),
            status=lambda line: live.update(f"bench: {line}"),
        )
        result = run.run(only)
    click.echo()
    Console(highlight=False).print(table(result))
    if json_path is not None:
        json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
        console.print(f"bench: wrote {json_path}")
    failed = [name for name in ("b1", "b2", "b3", "b4", "b5") if "error" in result.get(name, {})]
    return ExitCode.FAILED if failed else ExitCode.OK
