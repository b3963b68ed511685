"""``scv sim verify``: the ledger against the canonical and quarantine topics (read_committed).

Prints per event type expected / found / missing / duplicated / unexpected (``scv.verify``
explains the facts compared) and exits 0 only when nothing is missing, duplicated or
unexpected. Registered on the ``scv sim`` group by ``scv.cli``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from scv.exit_codes import ExitCode

if TYPE_CHECKING:
    from confluent_kafka import Message

    from scv.verify import Fact, Report
    from transforms.settings import TransformsSettings


def _ledger(
    store_dsn: str, runs: Sequence[int] = ()
) -> tuple[list[dict[str, Any]], datetime | None, datetime | None]:
    """The ledger's run transactions, when the first run started and when the last finished.

    ``runs`` scopes it to those runs (default: every run since ``scv sim init``); the stream is
    then scoped to changes recorded between their start and their end, so traffic of other runs
    (another user's simulator on a shared stack) is left out rather than reported unexpected.
    """
    import sqlalchemy

    scope = "r.kind = 'run'" + (" AND r.run_id = ANY(:runs)" if runs else "")
    params = {"runs": list(runs)} if runs else {}
    engine = sqlalchemy.create_engine(store_dsn)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text(
                    "SELECT t.committed, t.verdict, t.events FROM sim.transactions t "
                    f"JOIN sim.runs r USING (run_id) WHERE {scope} ORDER BY t.run_id, t.seq"
                ),
                params,
            )
            transactions = [dict(r._mapping) for r in rows]
            since, until, found = conn.execute(
                sqlalchemy.text(
                    "SELECT min(started_at), max(finished_at), count(*) FROM sim.runs r "
                    f"WHERE {scope}"
                ),
                params,
            ).one()
    except sqlalchemy.exc.ProgrammingError as exc:
        raise click.ClickException(
            f"no simulator ledger in the store database: run `scv sim init` ({exc.code})"
        ) from None
    finally:
        engine.dispose()
    if runs and found != len(set(runs)):
        raise click.ClickException(
            f"the ledger holds {found} of the runs {sorted(set(runs))}: re-initialised since?"
        )
    # MariaDB binlog times have whole seconds: a change of the first second must stay in scope.
    since = since.replace(microsecond=0) if since is not None else None
    # Without a scope the stream is read to its end (a run may still be going).
    return transactions, since, until if runs else None


def _read(bootstrap: str, topics: list[str]) -> Iterator[Message]:
    """Every committed record up to the ends as of now; a read that cannot finish raises
    ``KafkaIOError`` (one line and exit 3 at the CLI's boundary), never a short answer."""
    from kafkaio import read_committed

    yield from read_committed(bootstrap, topics)


def _quarantined_row(
    message: Message, since: datetime | None, until: datetime | None = None
) -> Fact | None:
    """The source row a quarantine record stands for: (system.table, business key)."""
    from transforms.envelope import parse_change_event
    from transforms.errors import DataError
    from transforms.quirks import document_id, epoch_millis

    where = f"{message.topic()}:{message.partition()}:{message.offset()}"
    try:
        change = parse_change_event(message.value())
        if change is None:
            return ("tombstone", where)
        recorded = epoch_millis(change.source_ts_ms)
        if (since is not None and recorded < since) or (until is not None and recorded > until):
            return None
        row = change.row
        table = f"{change.table.system}.{change.table.table}"
        if table == "erp.f4211":
            ident = document_id(
                row.text("sdkcoo"), row.text("sddcto"), row.required_integer("sddoco")
            )
        elif table == "wms.ITRN":
            ident = row.required_text("ItrnKey")
        elif table == "wms.ZZ_TEMP_LOG":
            ident = str(row.required_integer("SerialKey"))
        else:
            ident = where
    except DataError:
        return ("undecodable", where)
    return (table, ident)


def _settings(topic_prefix: str | None) -> TransformsSettings:
    from scv.settings import transforms_settings

    return transforms_settings(topic_prefix=topic_prefix)


def check(
    transactions: list[dict[str, Any]],
    since: datetime | None,
    settings: TransformsSettings,
    *,
    until: datetime | None = None,
    examples: int = 5,
) -> Report:
    """Compare ledger ``transactions`` with the output topics named by ``settings``."""
    import orjson

    from scv import verify as facts
    from transforms.events import CANONICAL_TOPICS

    expected = facts.expected_from_ledger(transactions)
    canonical = [settings.topic(t) for t in CANONICAL_TOPICS]
    events = (
        orjson.loads(m.value() or b"null") for m in _read(settings.kafka_bootstrap, canonical)
    )
    quarantine_topic = settings.topic(settings.quarantine_topic)
    quarantined = (
        fact
        for m in _read(settings.kafka_bootstrap, [quarantine_topic])
        if (fact := _quarantined_row(m, since, until)) is not None
    )
    found = facts.found_from_stream(
        (e for e in events if e is not None), quarantined, since=since, until=until
    )
    return facts.compare(expected, found, examples=examples)


def ledger(
    store_dsn: str, runs: Sequence[int] = ()
) -> tuple[list[dict[str, Any]], datetime | None, datetime | None]:
    """The ledger's run transactions and the time window of those runs (see ``_ledger``)."""
    return _ledger(store_dsn, runs)


@click.command()
@click.option(
    "--topic-prefix",
    default=None,
    help="Prefix of the pipeline's output topics (default: SCV_TRANSFORMS_TOPIC_PREFIX).",
)
@click.option(
    "--run",
    "runs",
    type=int,
    multiple=True,
    help="Check only these runs of the ledger (repeatable; default: every run since init).",
)
@click.option("--examples", default=5, show_default=True, help="Facts listed per event type.")
def verify(topic_prefix: str | None, runs: tuple[int, ...], examples: int) -> ExitCode:
    """Compare the ledger with the canonical and quarantine topics; exit 1 on any gap."""
    from scv.commands.sim import _settings as sim_settings
    from scv.verify import render

    settings = _settings(topic_prefix)
    transactions, since, until = _ledger(sim_settings().store_dsn.get_secret_value(), runs)
    report = check(transactions, since, settings, until=until, examples=examples)
    for line in render(report):
        click.echo(line)
    verdict = "PASS" if report.ok else "FAIL"
    click.echo(f"sim verify: {verdict} (topics {settings.topic('scv.*.v1')})")
    return ExitCode.OK if report.ok else ExitCode.FAILED
