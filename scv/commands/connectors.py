"""``scv connectors``: Debezium connectors as code (render, validate, plan, apply, operate).

Specs live in ``connectors/specs/*.yaml``; every verb takes an optional connector NAME (default:
all specs). Exit codes (``scv.exit_codes``): 0 ok, 1 checks failed / changes pending / not
RUNNING, 2 user error, 3 runtime error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scv.commands.audit import operator_action
from scv.exit_codes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from connectors.client import ConnectClient
    from connectors.ops import Spec
    from connectors.settings import ConnectorsSettings


class _Ctx:
    """Built once per invocation: settings, specs, and a client opened on demand."""

    def __init__(self, specs_dir: Path | None) -> None:
        self.specs_dir = specs_dir
        self._settings: ConnectorsSettings | None = None

    @property
    def settings(self) -> ConnectorsSettings:
        if self._settings is None:
            from scv.settings import connectors_settings

            self._settings = connectors_settings()
        return self._settings

    def specs(self, name: str | None) -> list[Spec]:
        from connectors.specs import DEFAULT_SPECS, load_specs, select

        return select(load_specs(self.specs_dir or DEFAULT_SPECS), name)

    @contextmanager
    def client(self) -> Iterator[ConnectClient]:
        from connectors.client import ConnectClient

        settings = self.settings
        with ConnectClient(
            settings.connect_url, timeout=settings.http_timeout, retry_for=settings.retry_for
        ) as client:
            yield client


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _deployed(c: _Ctx, name: str) -> Callable[[], object]:
    """The audit snapshot of connector ``name``: its deployed config (``${env:...}``
    references, never a secret), None while it is not deployed."""

    def read() -> object:
        with c.client() as client:
            return client.get_config(name)

    return read


def _progress(console: Console) -> Callable[[str], None]:
    return lambda line: console.print(f"  {line}", style="dim")


def _wait_after(client: ConnectClient, c: _Ctx, name: str, console: Console) -> None:
    """Wait for RUNNING after a restart or resume (a FAILED read right after may be stale)."""
    from connectors.ops import AFTER_ACTION_GRACE_S, wait_running

    wait_running(
        name,
        client,
        c.settings.wait_timeout,
        _progress(console),
        failure_grace=AFTER_ACTION_GRACE_S,
    )


name_arg = click.argument("name", required=False)


@click.group()
@click.option(
    "--specs",
    "specs_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Directory of connector specs (default: the ones shipped in connectors/specs).",
)
@click.pass_context
def connectors(ctx: click.Context, specs_dir: Path | None) -> None:
    """Debezium connectors as code: render, validate, plan, apply, status, operate."""
    ctx.obj = _Ctx(specs_dir)


pass_ctx = click.make_pass_decorator(_Ctx)


@connectors.command()
@name_arg
@pass_ctx
def render(c: _Ctx, name: str | None) -> None:
    """Print the exact config that would be sent (secrets are ${env:...} references)."""
    from connectors.ops import desired
    from connectors.render import to_json

    for spec in c.specs(name):
        click.echo(f"# {spec.name}" if name is None else "", nl=name is None)
        click.echo(to_json(desired(spec, c.settings)), nl=False)


@connectors.command()
@name_arg
@pass_ctx
def prepare(c: _Ctx, name: str | None) -> None:
    """Owner-side set-up: control tables and grants, the publication, the history topic."""
    from connectors.ops import prepare as do_prepare

    for spec in c.specs(name):
        changed = do_prepare(spec, c.settings)
        click.echo(f"{spec.name}: " + ("; ".join(changed) if changed else "nothing to do"))


@connectors.command()
@name_arg
@click.option("--no-connect", is_flag=True, help="Only the source checks, not Connect's validate.")
@pass_ctx
def validate(c: _Ctx, name: str | None, no_connect: bool) -> ExitCode:
    """Connect's validate endpoint plus pre-flight checks of the source database."""
    from connectors.ops import connect_checks, source_checks

    failed = 0
    with c.client() as client:
        for spec in c.specs(name):
            checks = source_checks(spec, c.settings, client)
            if not no_connect:
                checks += connect_checks(spec, client, c.settings)
            for check in checks:
                mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.level]
                click.echo(f"{mark} {spec.name}: {check.line}")
            failed += sum(ch.level == "fail" for ch in checks)
    if failed:
        click.echo(f"{failed} check(s) failed", err=True)
    return ExitCode.FAILED if failed else ExitCode.OK


@connectors.command()
@name_arg
@pass_ctx
def plan(c: _Ctx, name: str | None) -> ExitCode:
    """Diff desired vs deployed config (secrets masked); exit 1 if changes are pending."""
    from connectors.ops import plan as do_plan

    pending = False
    with c.client() as client:
        for spec in c.specs(name):
            result = do_plan(spec, client, c.settings)
            pending |= result.pending
            if not result.pending:
                click.echo(f"{spec.name}: no change")
                continue
            click.echo(f"{spec.name}: {result.action}")
            for ch in result.changes:
                if ch.before is None:
                    click.echo(f"  + {ch.key} = {ch.after}")
                elif ch.after is None:
                    click.echo(f"  - {ch.key} = {ch.before}")
                else:
                    click.echo(f"  ~ {ch.key}: {ch.before} -> {ch.after}")
    return ExitCode.FAILED if pending else ExitCode.OK


@connectors.command()
@name_arg
@click.option("--skip-prepare", is_flag=True, help="Do not touch the source (owner set-up).")
@pass_ctx
def apply(c: _Ctx, name: str | None, skip_prepare: bool) -> None:
    """Create or update (idempotent), then wait until the connector and tasks are RUNNING."""
    from connectors.errors import NotRunning
    from connectors.ops import apply as do_apply
    from connectors.ops import trace_of

    console = _console()
    with c.client() as client:
        for spec in c.specs(name):
            with (
                operator_action(
                    "connectors apply",
                    spec.name,
                    _deployed(c, spec.name),
                    skip_prepare=skip_prepare,
                ),
                console.status(f"{spec.name}: applying"),
            ):
                try:
                    result = do_apply(
                        spec, client, c.settings, _progress(console), do_prepare=not skip_prepare
                    )
                except NotRunning as exc:
                    trace = trace_of(exc)
                    if trace:
                        click.echo(trace, err=True)
                    raise
            verb = {"create": "created", "update": "updated", "none": "unchanged"}
            click.echo(f"{spec.name}: {verb[result.plan.action]}, RUNNING")


@connectors.command()
@name_arg
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def status(c: _Ctx, name: str | None, as_json: bool) -> ExitCode:
    """Connector and task states, plus data-loss risk (WAL retained / binlog head-room)."""
    from connectors.errors import ConnectorNotFound
    from connectors.ops import risk

    rows: list[dict[str, Any]] = []
    with c.client() as client:
        for spec in c.specs(name):
            row: dict[str, Any] = {"name": spec.name}
            try:
                st = client.status(spec.name)
                row |= {
                    "state": st.state,
                    "tasks": [{"id": t.id, "state": t.state} for t in st.tasks],
                    "running": st.running,
                    "trace": (st.failed_trace or "").strip().splitlines()[:1],
                }
            except ConnectorNotFound:
                row |= {"state": "NOT DEPLOYED", "tasks": [], "running": False, "trace": []}
            r = risk(spec, client, c.settings)
            row["data_loss_risk"] = {"level": r.level, "summary": r.summary, **r.facts}
            rows.append(row)
    if as_json:
        import orjson

        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    else:
        for row in rows:
            tasks = ", ".join(f"{t['id']}:{t['state']}" for t in row["tasks"]) or "-"
            click.echo(f"{row['name']}: {row['state']} (tasks {tasks})")
            for line in row["trace"]:
                click.echo(f"  trace: {line}")
            risk_row = row["data_loss_risk"]
            click.echo(f"  data-loss risk: {risk_row['level'].upper()}: {risk_row['summary']}")
    bad = any(not r["running"] or r["data_loss_risk"]["level"] == "critical" for r in rows)
    return ExitCode.FAILED if bad else ExitCode.OK


@connectors.command()
@name_arg
@click.option("--failed-only", is_flag=True, help="Only the failed connector/tasks.")
@click.option("--no-wait", is_flag=True, help="Do not wait for RUNNING.")
@pass_ctx
def restart(c: _Ctx, name: str | None, failed_only: bool, no_wait: bool) -> None:
    """Restart connectors and their tasks."""
    console = _console()
    with c.client() as client:
        for spec in c.specs(name):
            with operator_action(
                "connectors restart",
                spec.name,
                _deployed(c, spec.name),
                failed_only=failed_only,
                no_wait=no_wait,
            ):
                client.restart(spec.name, include_tasks=True, only_failed=failed_only)
                if not no_wait:
                    with console.status(f"{spec.name}: restarting"):
                        _wait_after(client, c, spec.name, console)
            click.echo(f"{spec.name}: restarted")


@connectors.command()
@name_arg
@pass_ctx
def pause(c: _Ctx, name: str | None) -> None:
    """Pause connectors (tasks stop polling; the slot/binlog position is kept)."""
    with c.client() as client:
        for spec in c.specs(name):
            with operator_action("connectors pause", spec.name, _deployed(c, spec.name)):
                client.pause(spec.name)
            click.echo(f"{spec.name}: paused")


@connectors.command()
@name_arg
@pass_ctx
def resume(c: _Ctx, name: str | None) -> None:
    """Resume paused connectors and wait for RUNNING."""
    console = _console()
    with c.client() as client:
        for spec in c.specs(name):
            with operator_action("connectors resume", spec.name, _deployed(c, spec.name)):
                client.resume(spec.name)
                with console.status(f"{spec.name}: resuming"):
                    _wait_after(client, c, spec.name, console)
            click.echo(f"{spec.name}: resumed, RUNNING")


@connectors.command()
@click.argument("name")
@click.option("--drop-slot", is_flag=True, help="Also drop the PostgreSQL replication slot.")
@pass_ctx
def delete(c: _Ctx, name: str, drop_slot: bool) -> None:
    """Delete a connector; the replication slot stays unless --drop-slot."""
    from connectors.errors import ConnectorNotFound
    from connectors.ops import drop_slot as do_drop_slot
    from connectors.specs import PostgresSpec

    (spec,) = c.specs(name)
    if drop_slot and not isinstance(spec, PostgresSpec):
        raise click.UsageError(f"{spec.name} is not a PostgreSQL connector: it has no slot")
    with (
        operator_action(
            "connectors delete", spec.name, _deployed(c, spec.name), drop_slot=drop_slot
        ),
        c.client() as client,
    ):
        try:
            client.delete(spec.name)
            click.echo(f"{spec.name}: deleted")
        except ConnectorNotFound:
            click.echo(f"{spec.name}: was not deployed")
        if drop_slot and isinstance(spec, PostgresSpec):
            dropped = do_drop_slot(spec, c.settings)
            state = "dropped" if dropped else "did not exist"
            click.echo(f"{spec.name}: slot {spec.slot} {state}")
    if not drop_slot and isinstance(spec, PostgresSpec):
        click.echo(f"{spec.name}: slot {spec.slot} kept (it retains WAL until dropped)")


@connectors.command()
@click.argument("name")
@click.option("--table", "-t", required=True, help="A captured table, unqualified.")
@click.option("--filter", "filter_sql", default=None, help="SQL condition on that table.")
@pass_ctx
def snapshot(c: _Ctx, name: str, table: str, filter_sql: str | None) -> None:
    """Ad-hoc incremental snapshot of one table via the signal table (r events)."""
    from connectors.ops import send_snapshot_signal

    (spec,) = c.specs(name)
    with operator_action(
        "connectors snapshot", spec.name, _deployed(c, spec.name), table=table, filter=filter_sql
    ):
        signal_id = send_snapshot_signal(spec, c.settings, table, filter_sql)
    where = f" where {filter_sql}" if filter_sql else ""
    click.echo(
        f"{spec.name}: snapshot of {spec.schema_name}.{table}{where} requested ({signal_id})"
    )


@connectors.command()
@click.argument("name")
@click.argument("action", type=click.Choice(["show", "reset"]))
@click.option("--yes", is_flag=True, help="Confirm reset (the connector re-snapshots).")
@pass_ctx
def offsets(c: _Ctx, name: str, action: str, yes: bool) -> None:
    """Show or reset a connector's source offsets (Connect's offsets API: stop, reset, resume)."""
    import orjson

    (spec,) = c.specs(name)
    with c.client() as client:
        if action == "show":
            click.echo(orjson.dumps(client.offsets(spec.name), option=orjson.OPT_INDENT_2).decode())
            return
        if not yes:
            raise click.UsageError("reset forgets the position (a new snapshot follows); add --yes")
        console = _console()
        with operator_action("connectors offsets reset", spec.name, _deployed(c, spec.name)):
            with console.status(f"{spec.name}: stopping"):
                client.stop(spec.name)
                _wait_state(client, spec.name, "STOPPED", c.settings.wait_timeout)
            click.echo(f"{spec.name}: {client.reset_offsets(spec.name) or 'offsets reset'}")
            client.resume(spec.name)
            with console.status(f"{spec.name}: resuming"):
                _wait_after(client, c, spec.name, console)
        click.echo(f"{spec.name}: resumed, RUNNING")


def _wait_state(client: ConnectClient, name: str, state: str, timeout: float) -> None:
    import time

    from connectors.errors import NotRunning

    deadline = time.monotonic() + timeout
    while client.status(name).state != state:
        if time.monotonic() > deadline:
            raise NotRunning(f"{name}: not {state} after {timeout:.0f}s")
        time.sleep(0.5)


@connectors.command()
@name_arg
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("tests/fixtures/debezium"),
    show_default=True,
)
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for events.")
@click.option("--drive/--no-drive", default=True, help="Write sample changes to the sources.")
@click.option(
    "--after-drift",
    is_flag=True,
    help="After `scv sim drift`: the envelopes carrying the added column and the ALTER event.",
)
@pass_ctx
def record(
    c: _Ctx, name: str | None, out: Path, timeout: float, drive: bool, after_drift: bool
) -> ExitCode:
    """Record real Debezium envelopes (every table and op) as test fixtures."""
    from connectors.record import record as do_record
    from connectors.record import record_drift

    console = _console()
    missing_total = 0
    for spec in c.specs(name):
        with console.status(f"{spec.name}: recording"):
            if after_drift:
                # The simulator's schema change per source: which table, which new column.
                from legacy_sim.runner import DRIFTS

                drift = DRIFTS[spec.name]
                table = drift.table.split(".")[-1]
                result = record_drift(
                    spec, c.settings, out, table, drift.column, timeout, drive, _progress(console)
                )
            else:
                result = do_record(spec, c.settings, out, timeout, drive, _progress(console))
        click.echo(
            f"{spec.name}: wrote {len(result.written)} envelopes under {out / spec.topic_prefix}"
        )
        for wanted in result.missing:
            click.echo(f"  missing: {wanted}")
        missing_total += len(result.missing)
    return ExitCode.FAILED if missing_total else ExitCode.OK
