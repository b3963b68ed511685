"""Markers from the path: every test is exactly one of unit or integration.

Property tests (hypothesis) run under one profile: derandomized (the same examples in CI and
on every machine, so a failure reproduces), no example database written into the checkout,
no per-example deadline (a shared CI machine's pauses are not failures).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("scv", derandomize=True, database=None, deadline=None)
settings.load_profile("scv")

_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(item.path).relative_to(_TESTS).parts[0]
        if kind not in ("unit", "integration"):
            raise pytest.UsageError(
                f"{item.nodeid}: a test lives in tests/unit or tests/integration"
            )
        item.add_marker(getattr(pytest.mark, kind))
