"""Figures of the suppliers and demand pages, written as ``scv suppliers scorecard`` and
``scv demand shifts`` write them (their table: rates as percentages with one decimal; their
``--json``: every other figure as the text below), so a page and the CLI can be compared."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def text(value: Any) -> str:
    """A serving-table value as the CLI's ``--json`` prints it ("-": none)."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def percent(value: Decimal | str | None) -> str:
    """A rate (0..1) as the scorecard table prints it: ``83.3%``."""
    if value is None:
        return "-"
    return f"{Decimal(value) * 100:.1f}%"
