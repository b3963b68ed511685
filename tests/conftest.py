"""Markers from the path: every test is exactly one of unit or integration."""

from __future__ import annotations

from pathlib import Path

import pytest

_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(item.path).relative_to(_TESTS).parts[0]
        if kind not in ("unit", "integration"):
            raise pytest.UsageError(
                f"{item.nodeid}: a test lives in tests/unit or tests/integration"
            )
        item.add_marker(getattr(pytest.mark, kind))
