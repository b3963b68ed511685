"""The REST client authenticates with the environment's credentials, and says what to do
when Connect asks for them."""

from __future__ import annotations

import base64

import httpx
import pytest

from connectors.client import ConnectClient, connect_auth
from connectors.errors import ConnectError


def test_the_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCV_CONNECT_USERNAME", "scv")
    monkeypatch.setenv("SCV_CONNECT_PASSWORD", "rest-s3cret")
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=["erp"])

    with ConnectClient("http://c", transport=httpx.MockTransport(handler)) as client:
        assert client.connectors() == ["erp"]
    assert seen == ["Basic " + base64.b64encode(b"scv:rest-s3cret").decode()]


def test_without_credentials_none_are_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCV_CONNECT_USERNAME", raising=False)
    monkeypatch.delenv("SCV_CONNECT_PASSWORD", raising=False)
    assert connect_auth() is None
    assert connect_auth({"SCV_CONNECT_USERNAME": "scv"}) is None  # half a pair is none
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(401, text="Unauthorized")

    with (
        ConnectClient("http://c", transport=httpx.MockTransport(handler), retry_for=0) as client,
        pytest.raises(ConnectError, match="set SCV_CONNECT_USERNAME and SCV_CONNECT_PASSWORD"),
    ):
        client.connectors()
    assert seen == [None]
