"""Column helpers for the legacy models: NOT NULL with the legacy defaults, never NULL.

JDE columns are CHAR(n) defaulting to blanks and NUMERIC defaulting to 0; Exceed columns are
VARCHAR defaulting to a single space. Legacy code never writes NULL into them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CHAR, DECIMAL, Integer, Numeric, String, text
from sqlalchemy.orm import MappedColumn, mapped_column


def jchar(width: int, *, pk: bool = False) -> MappedColumn[Any]:
    """JDE CHAR(n), blank by default (PostgreSQL keeps the padding)."""
    kwargs: dict[str, Any] = {"primary_key": pk, "nullable": False}
    if not pk:
        kwargs["server_default"] = text("' '")
    return mapped_column(CHAR(width), **kwargs)


def jnum(precision: int, *, pk: bool = False) -> MappedColumn[Any]:
    """JDE MATH_NUMERIC stored as NUMERIC(p, 0): dates, times and implied-decimal numbers."""
    kwargs: dict[str, Any] = {"primary_key": pk, "nullable": False}
    if not pk:
        kwargs["server_default"] = text("0")
    return mapped_column(Numeric(precision, 0, asdecimal=True), **kwargs)


def wchar(width: int, *, pk: bool = False, default: str = " ") -> MappedColumn[Any]:
    """Exceed VARCHAR with a ``' '`` default instead of NULL."""
    if pk:
        return mapped_column(String(width), primary_key=True)
    return mapped_column(String(width), nullable=False, server_default=text(f"'{default}'"))


def wint(*, default: int = 0) -> MappedColumn[Any]:
    """Exceed integer quantities in base units."""
    return mapped_column(Integer, nullable=False, server_default=text(str(default)))


def wdec(precision: int, scale: int) -> MappedColumn[Any]:
    return mapped_column(DECIMAL(precision, scale, asdecimal=True), nullable=False)
