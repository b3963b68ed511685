"""The plan digest: default traffic for a fixed seed, pinned.

A SHA-256 over everything a run of the default mix would do (each transaction's kind, the
statements and their parameters per database, the ledger record, the world picture after
it and the generator's state), so a change to default traffic (a new draw from the
generator, a weight, a reordered step, a changed row) cannot go unnoticed. If the change is
intended, say why in the commit and replace ``DIGEST`` with the value the failure prints.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

from legacy_sim import ledger
from legacy_sim.engine import Outcome, TxPlan
from legacy_sim.profiles import PROFILES
from legacy_sim.rows import Moment
from legacy_sim.scenarios import planner
from legacy_sim.scenarios.context import Context
from legacy_sim.seed import build_world

T0 = datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC)
COUNT = 1500
ROLLBACK_RATE = 0.02
#: The digest of ``_digest()``, taken on the commit that split ``legacy_sim/workload.py`` into
#: ``legacy_sim/scenarios`` (the same value as the old ``Workload`` gave).
DIGEST = "d8eee9c3f4fba54f58b99627dc0efea482e6c1a0ef7e1573d604bec8c67a7e49"


def _digest() -> str:
    """Plan ``COUNT`` transactions as ``scv sim run`` would (rollbacks drawn and undone) and
    hash what each one does."""
    rng = random.Random("run:1")
    ctx = Context.build(build_world(3, PROFILES["demo"]), rng)
    sha = hashlib.sha256()
    for seq in range(1, COUNT + 1):
        rollback = rng.random() < ROLLBACK_RATE
        tx = TxPlan(
            seq=seq,
            at=Moment(T0 + timedelta(seconds=seq * 0.37)),
            rollback=rollback,
            scheduled=(seq - 1) / 20,
        )
        planner.plan(ctx, tx)
        statements = [
            (db.db, op.table, op.kind, str(op.statement), op.params)
            for db in (tx.erp, tx.wms)
            for op in db.ops
        ]
        outcome = Outcome(not rollback, {} if rollback else {"erp": 1, "wms": 2})
        record = ledger.record(1, tx, outcome)
        if rollback:
            tx.journal.undo()
        sha.update(json.dumps([statements, record], sort_keys=True, default=str).encode())
    sha.update(ctx.world.model_dump_json().encode())
    sha.update(repr(rng.getstate()).encode())
    return sha.hexdigest()


def test_default_traffic_for_a_fixed_seed_is_the_pinned_plan() -> None:
    found = _digest()
    assert found == DIGEST, f"default traffic changed: plan digest {found}"
