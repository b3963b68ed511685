"""``scv edi run`` on the real chain: one document per business fact, through a ``kill -9``.

The module fixture does what a user does, through the CLI: ``scv sim init`` (it resets the
shared legacy databases), ``scv connectors apply`` and the item snapshots, ``scv sim run``
until dispatches left every partner's sites and goods were received at the cold DC, then
``scv pipeline run --until-idle`` with its own consumer group and topic prefix. Then the EDI
stage, with its own schema and outbox: ``scv edi run`` killed with ``kill -9`` once its
first documents are committed, and ``scv edi run --until-idle`` after it.

Expected documents come from the canonical topics the stage reads (the pipeline's own
exactly-once is ``scv sim verify``'s business): per ``shipment.dispatched`` not read by a
snapshot, ACME's 856 for its sites 20001/20002 and Northwind's 945 for 30001; per
``goods.received`` at 30001 Northwind's 944. Each business key ends up exactly once as a
document or as a reject (an item without GTIN for ACME, say), never both, never twice.

The line wait is 20 s here, not 10 minutes: a dispatch whose picks name a line the gate
quarantined is rejected (``pick_without_line``) 20 s after it was published, and
``--until-idle`` waits for that. The 846 schedule is off (it reads the views' serving table,
which no view process fills here).
"""

from __future__ import annotations

import hashlib
import logging
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import edi_parser
import psycopg
import pytest
from chain import edi_env, namespaced_env, seed_world, spawn, start_group
from rawtopics import settled_ends, wait_quiet

import kafkaio
from transforms.events import GoodsReceived, ShipmentDispatched, from_json

RATE, DURATION = 60, 10
ACME_SITES = {"20001", "20002"}
COLD_SITE = "30001"

#: (partner, type, business key)
Key = tuple[str, str, str]


def _scv(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "scv", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"scv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass
class Chain:
    env: dict[str, str]
    run: str
    schema: str
    outbox: Path
    logs: Path

    def store(self) -> psycopg.Connection[tuple[object, ...]]:
        dsn = self.env["SCV_STORE_DSN"].replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True)

    def edi(self, *, until_idle: bool) -> subprocess.Popen[bytes]:
        args = ["edi", "run", *(["--until-idle"] if until_idle else [])]
        return spawn(self.env, self.logs / "edi.log", *args)

    def log(self) -> str:
        path = self.logs / "edi.log"
        return path.read_text() if path.exists() else ""

    def count(self) -> int:
        with self.store() as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = 'documents'",
                (self.schema,),
            ).fetchone()
            if not found or not found[0]:
                return 0
            row = conn.execute(f"SELECT count(*) FROM {self.schema}.documents").fetchone()
            return cast(int, row[0]) if row else 0

    def documents(self) -> list[tuple[str, str, str, int, str, str, bytes, str]]:
        with self.store() as conn:
            rows = conn.execute(
                "SELECT partner_id, doc_type, business_key, interchange, file_name, sha256, "
                f"content, status FROM {self.schema}.documents ORDER BY partner_id, interchange"
            ).fetchall()
        return [
            (str(p), str(t), str(k), cast(int, i), str(f), str(s), bytes(cast(bytes, c)), str(st))
            for p, t, k, i, f, s, c, st in rows
        ]

    def rejects(self) -> list[tuple[str | None, str | None, str | None, str]]:
        with self.store() as conn:
            rows = conn.execute(
                f"SELECT partner_id, doc_type, business_key, reason FROM {self.schema}.rejects"
            ).fetchall()
        return [
            (cast(str | None, p), cast(str | None, t), cast(str | None, k), str(r))
            for p, t, k, r in rows
        ]

    def expected(self) -> set[Key]:
        """The documents the canonical topics call for (see the module docstring)."""
        topics = [f"{self.run}.scv.shipment.v1", f"{self.run}.scv.inbound.v1"]
        wanted: set[Key] = set()
        for message in kafkaio.read_committed(self.env["SCV_KAFKA_BOOTSTRAP"], topics):
            value = message.value()
            if value is None or not (b"shipment.dispatched" in value or b"goods.received" in value):
                continue
            event = from_json(value)
            if event.source.snapshot:
                continue
            if isinstance(event, ShipmentDispatched):
                key = f"{event.shipment_id}|{event.order_id}"
                if event.site_id in ACME_SITES:
                    wanted.add(("acme-retail", "856", key))
                elif event.site_id == COLD_SITE:
                    wanted.add(("northwind-depositor", "945", key))
            elif isinstance(event, GoodsReceived) and event.site_id == COLD_SITE:
                wanted.add(("northwind-depositor", "944", event.receipt_id))
        return wanted


def _enough(chain: Chain) -> bool:
    kinds = Counter((p, t) for p, t, _ in chain.expected())
    return all(
        kinds[k] >= 2
        for k in (
            ("acme-retail", "856"),
            ("northwind-depositor", "945"),
            ("northwind-depositor", "944"),
        )
    )


@pytest.fixture(scope="module")
def chain(endpoints: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    env = namespaced_env(endpoints, tag="ite")
    run = env["SCV_TRANSFORMS_TOPIC_PREFIX"].rstrip(".")
    logs = tmp_path_factory.mktemp(run)
    made = Chain(env, run, run.replace("-", "_"), logs / "outbox", logs)
    env |= edi_env(endpoints, run, made.outbox)
    bootstrap = endpoints["SCV_KAFKA_BOOTSTRAP"]
    start_group(bootstrap, f"{run}-group", settled_ends(bootstrap, endpoints["SCV_CONNECT_URL"]))
    seed_world(env, 909)
    for seed in range(1, 9):
        _scv(env, "sim", "run", "--rate", str(RATE), "--duration", str(DURATION),
             "--seed", str(seed))  # fmt: skip
        wait_quiet(bootstrap)
        _scv(env, "pipeline", "run", "--until-idle")
        if _enough(made):
            break
    else:
        raise AssertionError(f"too few dispatches or receipts: {Counter(made.expected())}")
    yield made
    with made.store() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {made.schema} CASCADE")


@pytest.fixture(scope="module")
def killed_and_restarted(chain: Chain) -> set[Key]:
    """``scv edi run`` killed with ``kill -9`` after its first commits, then run to idle."""
    expected = chain.expected()
    first = chain.edi(until_idle=True)
    deadline = time.monotonic() + 300
    while chain.count() == 0:
        assert first.poll() is None, f"edi run ended before it could be killed:\n{chain.log()}"
        assert time.monotonic() < deadline, chain.log()
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = chain.count()
    assert killed_at < len(expected), f"the kill must land mid-run ({killed_at} documents)"
    restarted = chain.edi(until_idle=True)
    assert restarted.wait(600) == 0, chain.log()
    return expected


def test_each_dispatch_and_receipt_gives_one_document_or_one_reject(
    chain: Chain, killed_and_restarted: set[Key]
) -> None:
    documents = [(p, t, k) for p, t, k, *_ in chain.documents()]
    rejected = [(p, t, k) for p, t, k, _ in chain.rejects() if p and t and k]
    assert len(documents) == len(set(documents)), "a document built twice"
    assert len(rejected) == len(set(rejected)), "a reject recorded twice"
    assert not set(documents) & set(rejected)
    assert set(documents) | set(rejected) == killed_and_restarted
    kinds = Counter((p, t) for p, t, _ in documents)
    assert kinds[("acme-retail", "856")] > 0, chain.log()
    assert kinds[("northwind-depositor", "945")] > 0, chain.log()
    assert kinds[("northwind-depositor", "944")] > 0, chain.log()
    reasons = Counter(r for *_, r in chain.rejects())
    assert set(reasons) <= {"missing_gtin", "pick_without_line", "nothing_shipped"}, reasons


def test_control_numbers_are_contiguous_and_increasing_per_partner(
    chain: Chain, killed_and_restarted: set[Key]
) -> None:
    by_partner: dict[str, list[tuple[int, bytes]]] = {}
    for partner, _, _, interchange, _, _, content, _ in chain.documents():
        by_partner.setdefault(partner, []).append((interchange, content))
    assert by_partner
    for partner, docs in by_partner.items():
        numbers = [n for n, _ in docs]
        assert numbers == list(range(1, len(docs) + 1)), partner
        st02 = [_parse(content)[1] for _, content in docs]
        assert st02 == [f"{n:04d}" for n in range(1, len(docs) + 1)], partner


def test_every_document_is_in_the_outbox_whole_and_parses_with_bots(
    chain: Chain, killed_and_restarted: set[Key]
) -> None:
    on_disk = {p.relative_to(chain.outbox).as_posix() for p in chain.outbox.rglob("*")
               if p.is_file()}  # fmt: skip
    rows = chain.documents()
    assert on_disk == {f"{partner}/{name}" for partner, _, _, _, name, *_ in rows}
    for partner, _, _, interchange, name, sha256, content, status in rows:
        data = (chain.outbox / partner / name).read_bytes()
        assert data == content
        assert hashlib.sha256(data).hexdigest() == sha256
        assert status == "written"
        isa13, _ = _parse(data)
        assert int(isa13) == interchange


def test_a_second_run_builds_nothing_new(chain: Chain, killed_and_restarted: set[Key]) -> None:
    before = chain.documents()
    again = _scv(chain.env, "edi", "run", "--until-idle")
    assert " 0 documents" in again.stdout, again.stdout
    assert chain.documents() == before


def _parse(data: bytes) -> tuple[str, str]:
    """ISA13 and the first ST02 as Bots reads them (strict grammar check of the whole file)."""
    logging.getLogger("edi_parser").disabled = True
    result = edi_parser.parse_edi(
        data.decode("ascii"), editype="x12", messagetype="x12", field_validation_mode="strict"
    )
    assert result["success"], result["errors"]
    (isa,) = result["data"]["children"]
    gs = isa["_children"][0]
    st = next(child for child in gs["_children"] if child["BOTSID"] == "ST")
    return str(isa["ISA13"]), str(st["ST02"])
