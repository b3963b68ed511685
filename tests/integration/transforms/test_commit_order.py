"""A unit conversion changed between two order lines reaches exactly the line committed after it.

On the real stack: three ERP transactions in the same second, a line in cases (CA), the item's
CA → EA conversion doubled, a second line in cases. The lines and the conversion travel on
different raw topics, and a runner joining in arrival order maps both lines with one factor
(whichever it read last). In commit order the first line has the old factor, the second the new.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from chain import namespaced_env, scv, seed_world, sim_run
from sqlalchemy import create_engine, text

import kafkaio
from legacy_sim.quirks import implied_for

FIRST_ORDER = 99_000_001
SECOND_ORDER = 99_000_002


def _placed(env: dict[str, str], litm: str) -> dict[int, Decimal]:
    """The two test orders' ``order.placed`` quantities found on the canonical topic."""
    topic = f"{env['SCV_TRANSFORMS_TOPIC_PREFIX']}scv.order.v1"
    placed: dict[int, Decimal] = {}
    for message in kafkaio.read_committed(env["SCV_KAFKA_BOOTSTRAP"], [topic]):
        event = orjson.loads(message.value() or b"{}")
        if event.get("event_type") != "order.placed" or event.get("item_id") != litm.strip():
            continue
        for doco in (FIRST_ORDER, SECOND_ORDER):
            if event["order_id"].endswith(f"-{doco}"):
                placed[doco] = Decimal(event["quantity"])
    return placed


@pytest.mark.parametrize("arrival", ["backlog", "live"])
def test_a_line_committed_before_a_conversion_change_keeps_the_old_factor(
    endpoints: dict[str, str], tmp_path: Path, arrival: str
) -> None:
    """``backlog``: the runner starts once all three changes are on Kafka (one batch);
    ``live``: it runs while they are committed (they arrive when they arrive)."""
    env = namespaced_env(endpoints)
    seed_world(env, 41)
    sim_run(env, "--rate", "10", "--duration", "3", "--seed", "41")  # order lines to copy
    runner: subprocess.Popen[bytes] | None = None
    if arrival == "live":
        scv(env, "pipeline", "run", "--until-idle", timeout=600)  # the seed and the run
        log = tmp_path / "runner.log"
        with log.open("wb") as out:
            runner = subprocess.Popen(
                [sys.executable, "-m", "scv", "pipeline", "run"], env=env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 120
        while "assigned" not in log.read_text():
            assert runner.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    try:
        litm, expected = _commit_line_conversion_change_line(env)
        if runner is None:
            scv(env, "pipeline", "run", "--until-idle", timeout=600)
            placed = _placed(env, litm)
        else:
            deadline = time.monotonic() + 120
            while len(placed := _placed(env, litm)) < 2 and time.monotonic() < deadline:
                time.sleep(1)
    finally:
        if runner is not None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(60)
    assert placed == expected


def _commit_line_conversion_change_line(env: dict[str, str]) -> tuple[str, dict[int, Decimal]]:
    """Three ERP transactions in a row: a line in cases, the item's CA → EA factor doubled, a
    line in cases. The item and the expected base quantities of the two lines."""
    engine = create_engine(env["SCV_ERP_DSN"])
    with engine.begin() as conn:
        template = (
            conn.execute(text("SELECT * FROM proddta.f4211 ORDER BY sddoco, sdlnid LIMIT 1"))
            .mappings()
            .one()
        )
        # An item with an all-branch CA → EA conversion and none of its own at the line's site.
        itm, litm, factor = conn.execute(
            text(
                "SELECT u.umitm, i.imlitm, u.umconv FROM proddta.f41002 u"
                " JOIN proddta.f4101 i ON i.imitm = u.umitm"
                " WHERE u.umum = 'CA' AND u.umrum = 'EA' AND trim(u.ummcu) = ''"
                " AND NOT EXISTS (SELECT 1 FROM proddta.f41002 b WHERE b.umitm = u.umitm"
                "   AND b.umum = 'CA' AND b.umrum = 'EA' AND b.ummcu = :mcu)"
                " ORDER BY u.umitm LIMIT 1"
            ),
            {"mcu": template["sdmcu"]},
        ).one()
    columns = list(template.keys())

    def line(doco: int) -> dict[str, object]:
        row = dict(template)
        row |= {"sddoco": doco, "sdlnid": 1000, "sditm": itm, "sdlitm": litm, "sdaitm": " "}
        row["sduom"] = "CA"  # the template's quantity, now in cases
        return row

    insert = text(
        f"INSERT INTO proddta.f4211 ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)})"
    )
    with engine.begin() as conn:
        conn.execute(insert, line(FIRST_ORDER))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE proddta.f41002 SET umconv = umconv * 2"
                " WHERE umitm = :itm AND umum = 'CA' AND umrum = 'EA' AND trim(ummcu) = ''"
            ),
            {"itm": itm},
        )
    with engine.begin() as conn:
        conn.execute(insert, line(SECOND_ORDER))
    engine.dispose()
    cases = Decimal(template["sduorg"]) / implied_for("sduorg", Decimal(1))
    each_per_case = Decimal(factor) / implied_for("umconv", Decimal(1))
    return str(litm), {FIRST_ORDER: cases * each_per_case, SECOND_ORDER: cases * 2 * each_per_case}
