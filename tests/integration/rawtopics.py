"""Helpers over the raw Debezium change topics, shared by the end-to-end integration tests.

Imported as ``rawtopics`` (``tests/integration`` is on pytest's ``pythonpath``); not a test file.
The helpers live in the product (``chaos.rawtopics``, which ``scv chaos`` drives the same
chain with); this module only names them for the tests.
"""

from __future__ import annotations

from chaos.rawtopics import (
    RAW,
    Offsets,
    count_ops,
    raw_duplicates,
    raw_ends,
    settled_ends,
    wait_quiet,
)

__all__ = [
    "RAW",
    "Offsets",
    "count_ops",
    "raw_duplicates",
    "raw_ends",
    "settled_ends",
    "wait_quiet",
]
