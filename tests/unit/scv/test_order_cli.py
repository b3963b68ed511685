"""``scv order track`` / ``scv order list``: thin commands over ``views.order_store``."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import views.order_store
from scv.commands.orders import order
from views.errors import UnknownOrder
from views.order_store import OrderSummary, OrderTimeline
from views.orders import Step

SUMMARY = OrderSummary(
    "00020-SO-1", "20001", "dispatched", "in transit: shipment MB1 (carrier not stated)",
    Decimal(10), Decimal(6), True, date(2026, 3, 4), date(2026, 3, 6), date(2026, 3, 8),
    "dispatched", 2, True, "dispatched", datetime(2026, 3, 6, 9, tzinfo=UTC),
)  # fmt: skip
STEP = Step(
    "00020-SO-1", uuid.UUID(int=1), "placed", datetime(2026, 3, 2, 9, tzinfo=UTC), "erp",
    datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC), "line 1.000: 10 EA of A", "00020-SO-1/1.000", "A",
    Decimal(10),
)  # fmt: skip


def _invoke(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("SCV_STORE_DSN", "postgresql://nobody@127.0.0.1:1/scv")
    return CliRunner().invoke(order, list(args))


def test_track_prints_the_promise_and_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def track_order(settings: Any, order_id: str) -> OrderTimeline:
        asked.append(order_id)
        return OrderTimeline(SUMMARY, [STEP])

    monkeypatch.setattr(views.order_store, "track_order", track_order)
    result = _invoke(monkeypatch, "track", "00020-SO-1")
    assert result.exit_code == 0, result.output
    assert asked == ["00020-SO-1"]
    first, step = result.output.splitlines()
    assert "promised 2026-03-06 projected 2026-03-08 (dispatched) 2 day(s) late" in first
    assert "SHORT 6 of 10" in first
    assert step.split()[1:3] == ["placed", "erp"]
    assert "committed 2026-03-02T09:00:01+00:00" in step


def test_track_json_is_one_object_with_its_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        views.order_store, "track_order", lambda s, o: OrderTimeline(SUMMARY, [STEP])
    )
    result = _invoke(monkeypatch, "track", "00020-SO-1", "--json")
    found = orjson.loads(result.output)
    assert (found["days_late"], found["ordered"], found["promised_delivery_date"]) == (
        2, "10", "2026-03-06",
    )  # fmt: skip
    assert [(s["step"], s["system"], s["quantity"]) for s in found["steps"]] == [
        ("placed", "erp", "10")
    ]


def test_list_late_asks_for_late_orders_only(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[bool] = []

    def list_orders(settings: Any, *, late_only: bool) -> list[OrderSummary]:
        asked.append(late_only)
        return [SUMMARY]

    monkeypatch.setattr(views.order_store, "list_orders", list_orders)
    result = _invoke(monkeypatch, "list", "--late", "--json")
    assert result.exit_code == 0, result.output
    assert asked == [True]
    assert orjson.loads(result.output)["order_id"] == "00020-SO-1"
    plain = _invoke(monkeypatch, "list")
    assert asked == [True, False]
    assert plain.output.splitlines()[-1] == "1 open orders"


def test_an_unknown_order_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real boundary (``python -m scv``): an order never read is a user mistake."""
    done = subprocess.run(
        [sys.executable, "-c", (
            "import views.order_store as s\n"
            "from views.errors import UnknownOrder\n"
            "def no(settings, order_id):\n"
            "    raise UnknownOrder(f'order {order_id!r}: no event of it read')\n"
            "s.track_order = no\n"
            "import sys; sys.argv = ['scv', 'order', 'track', 'NOPE']\n"
            "from scv.cli import main; main()\n"
        )],
        capture_output=True, text=True, check=False,
        env={"SCV_STORE_DSN": "postgresql://nobody@127.0.0.1:1/scv", "PATH": "/usr/bin"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == "scv: error: order 'NOPE': no event of it read\n"
    assert UnknownOrder.exit_code == 2
