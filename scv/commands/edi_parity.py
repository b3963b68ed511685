"""``scv edi parity``: the nightly batch's files against the stream's outbox, for one cut-off.

Registered under the ``scv edi`` group (``scv.cli``). It reads the simulator's ledger for the
commit times that classify timing differences (``--no-ledger`` compares without them), calls
``edi.parity_report.run_parity`` and exits 1 when any difference is unexplained.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from edi.parity import Commit
    from legacy_sim.ledger import CommitFact


def commit_of(fact: CommitFact) -> Commit:
    """A ledger transaction as the parity report's ``Commit``: the shipment or receipt it
    created, the receipt it reversed, the site x item balances it changed."""
    from edi.parity import Commit

    keys = fact.keys
    origins: set[str] = set()
    subjects = {f"inventory:{key}" for key in fact.balances}
    receipt = (
        f"receipt:{keys['po_id']}/{keys['prdoc']}"
        if keys.get("po_id") and keys.get("prdoc") is not None
        else None
    )
    if fact.kind == "ship" and keys.get("shipment_id"):
        origins.add(f"shipment:{keys['shipment_id']}")
    elif fact.kind == "receipt" and receipt:
        origins.add(receipt)
    elif fact.kind == "receipt_reversal" and receipt:
        subjects.add(receipt)
    return Commit(
        at=fact.committed_at,
        kind=fact.kind,
        origins=frozenset(origins),
        subjects=frozenset(subjects),
    )


def _ledger(since: datetime) -> Iterable[Commit]:
    import sqlalchemy

    from legacy_sim import ledger
    from legacy_sim.errors import SimDatabaseError
    from scv.commands.sim import _settings

    engine = sqlalchemy.create_engine(_settings().store_dsn.get_secret_value())
    try:
        with engine.connect() as conn:
            facts = ledger.commits_since(conn, since)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SimDatabaseError(f"cannot read the simulator's ledger ({exc.code})") from None
    finally:
        engine.dispose()
    return [commit_of(f) for f in facts]


@click.command("parity")
@click.option(
    "--batch",
    "batch_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The batch's output directory (`scv sim batch --out`).",
)
@click.option(
    "--stream",
    "stream_dir",
    required=True,
    envvar="SCV_EDI_OUTBOX_DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="The stream's outbox (<outbox>/<partner>/<file>). Default: $SCV_EDI_OUTBOX_DIR.",
)
@click.option("--at", "at_", default=None, help="The cut-off (default: the batch's).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for index.html and parity.json (default: <batch>-parity).",
)
@click.option(
    "--partners",
    "partners_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Partner profiles (default: the EDI stage's, SCV_EDI_PARTNERS_DIR).",
)
@click.option("--no-ledger", is_flag=True, help="Without the simulator's ledger: no timing class.")
def parity(
    batch_dir: Path,
    stream_dir: Path,
    at_: str | None,
    out_dir: Path | None,
    partners_dir: Path | None,
    no_ledger: bool,
) -> None:
    """Compare the nightly batch with the stream for its cut-off; exit 1 if unexplained."""
    from datetime import UTC

    from edi.parity_report import run_parity
    from edi.settings import EdiSettings
    from scv.commands.sim import _moment

    at = None if at_ is None else _moment(at_, "--at")
    run = run_parity(
        batch_dir=batch_dir,
        stream_dir=stream_dir,
        out_dir=out_dir or batch_dir.with_name(f"{batch_dir.name}-parity"),
        ledger=(lambda since: []) if no_ledger else _ledger,
        partners_dir=partners_dir or EdiSettings().partners_dir,
        now=datetime.now(UTC),
        at=at,
    )
    totals = run.summary["totals"]
    for d in run.summary["documents"]:
        click.echo(
            f"parity: {d['document']}  batch {d['batch']:>5}  stream {d['stream']:>5}  "
            f"on both {d['matched']:>5}  unexplained {d['unexplained']:>4}  "
            f"batch defect {d['batch_defect']:>4}  timing {d['timing']:>4}"
        )
    click.echo(
        f"parity: cut-off {run.summary['at']}: {totals['differences']} differences, "
        f"{totals['unexplained']} unexplained, {totals['batch_defect']} known batch defects, "
        f"{totals['timing']} timing; {run.index} ({run.data.name} beside it)"
    )
    raise SystemExit(1 if run.unexplained else 0)
