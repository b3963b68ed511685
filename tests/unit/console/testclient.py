"""Starlette's TestClient for the console's unit tests.

Starlette 1.x warns (StarletteDeprecationWarning) when its TestClient runs on ``httpx`` rather
than ``httpx2``; the project's tests turn warnings into errors, and this one says nothing
about the console, so it is silenced for this import only."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["TestClient"]
