"""Reads the simulator's ground-truth ledger (``sim.transactions`` in the store database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy

from bench.errors import BenchError

_QUERY = sqlalchemy.text(
    "SELECT seq, committed, verdict, erp_commit_ns, wms_commit_ns, row_changes, events"
    " FROM sim.transactions WHERE run_id = :run_id ORDER BY seq"
)


def rows(store_dsn: str, run_id: int) -> list[dict[str, Any]]:
    engine = sqlalchemy.create_engine(store_dsn)
    try:
        with engine.connect() as connection:
            found = connection.execute(_QUERY, {"run_id": run_id}).mappings().all()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise BenchError(f"cannot read the ledger of run {run_id}: {exc.code}") from None
    finally:
        engine.dispose()
    return [dict(row) for row in found]


@dataclass(frozen=True, slots=True)
class Volume:
    """What a run committed: transactions, row changes, raw messages per source."""

    committed_tx: int
    changes: int
    #: Raw change records per source (``erp``/``wms``): a delete is two with tombstones.
    messages: dict[str, int]
    first_commit_ns: int
    last_commit_ns: int

    @property
    def changes_per_tx(self) -> float:
        return self.changes / self.committed_tx if self.committed_tx else 0.0

    @property
    def span_s(self) -> float:
        return (self.last_commit_ns - self.first_commit_ns) / 1e9


def volume(found: Iterable[Mapping[str, Any]], tombstones: Mapping[str, bool]) -> Volume:
    """Totals of the committed rows; ``row_changes`` is ``{raw topic: {"c"|"u"|"d": n}}``."""
    committed = changes = 0
    messages: dict[str, int] = {}
    commits: list[int] = []
    for row in found:
        if not row["committed"]:
            continue
        committed += 1
        commits.extend(int(ns) for ns in (row["erp_commit_ns"], row["wms_commit_ns"]) if ns)
        for topic, ops in (row["row_changes"] or {}).items():
            source = topic.split(".", 1)[0]
            n = sum(int(v) for v in ops.values())
            changes += n
            extra = int(ops.get("d", 0)) if tombstones.get(source, True) else 0
            messages[source] = messages.get(source, 0) + n + extra
    return Volume(
        committed_tx=committed,
        changes=changes,
        messages=messages,
        first_commit_ns=min(commits, default=0),
        last_commit_ns=max(commits, default=0),
    )
