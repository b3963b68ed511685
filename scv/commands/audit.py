"""``scv audit``: the trail of operator actions (list, publish), and ``operator_action``, the
wrapper the audited verbs run in.

Audited: ``connectors apply/delete/pause/resume/restart/snapshot/offsets reset``, ``quarantine
replay`` and ``sim init``. Each writes a ``requested`` row before it acts (no row, no action:
exit 3) and a ``succeeded``/``failed`` row after it (see ``audit.trail``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from audit.trail import Snapshot


def operator_action(
    command: str, target: str | None = None, snapshot: Snapshot | None = None, **arguments: object
) -> AbstractContextManager[None]:
    """The block as the audited action ``command`` on ``target`` (``arguments``: its options,
    never a secret), with ``snapshot`` giving the config hashed before and after."""
    from audit import Action, recorded
    from scv.settings import audit_settings

    return recorded(
        audit_settings(),
        Action(command=command, target=target, arguments=dict(arguments)),
        snapshot,
        warn=lambda line: click.echo(f"scv: warning: {line}", err=True),
    )


@click.group()
def audit() -> None:
    """The audit trail of operator actions (table audit.operator_actions, topic scv.audit.v1)."""


def _short(digest: str | None) -> str:
    return "-" if digest is None else digest.removeprefix("sha256:")[:12]


@audit.command("list")
@click.option("--since", default=None, help="Only actions since: ISO time or 30m, 2h, 7d.")
@click.option("--limit", default=200, show_default=True, help="Newest rows shown (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (one array).")
def list_(since: str | None, limit: int, as_json: bool) -> None:
    """Who did what, when, and the config hash before -> after; one row per phase."""
    from audit import history
    from expectations.quarantine import parse_since
    from scv.settings import audit_settings

    when = None if since is None else parse_since(since, now=datetime.now(UTC))
    rows = history(audit_settings(), since=when, limit=limit)
    if as_json:
        import orjson

        out = [row.record() | {"published": row.published_at is not None} for row in rows]
        click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(
        f"{'time (UTC)':<19} {'user':<12} {'phase':<9} {'command':<26} {'target':<8} "
        f"{'config before -> after':<27} detail"
    )
    for row in rows:
        at = row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        who = row.os_user if row.sudo_user is None else f"{row.os_user}({row.sudo_user})"
        change = f"{_short(row.config_before)} -> {_short(row.config_after)}"
        if row.phase == "requested":
            change = f"{_short(row.config_before)}"
        mark = "" if row.published_at is not None else " [not yet on Kafka]"
        click.echo(
            f"{at:<19} {who:<12} {row.phase:<9} {row.command:<26} {row.target or '-':<8} "
            f"{change:<27} {row.detail or ''}{mark}"
        )
    click.echo(f"{len(rows)} rows")


@audit.command()
def publish() -> None:
    """Send the rows not yet on scv.audit.v1 (the outbox) to Kafka."""
    from audit import publish_pending
    from scv.settings import audit_settings

    sent = publish_pending(audit_settings())
    click.echo(f"audit: {sent} row(s) published")
