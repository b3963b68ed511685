"""Each event's CloudEvents ``dataschema`` is a URL the schema app answers with the committed
schema (the app driven over ASGI, as the console mounts it)."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from transforms.events import EVENT_TYPES, schema_url, to_kafka
from transforms.jsonschemas import generate, schema_path, version_of
from transforms.schemaserve import SchemaApp
from transforms.settings import TransformsSettings

BASE = "http://console.test/schemas"


def _get(path: str, method: str = "GET", root_path: str = "") -> httpx.Response:
    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=SchemaApp(), root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as c:
            return await c.request(method, path)

    return asyncio.run(ask())


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_schema_is_served_at_its_dataschema_path(event_type: str) -> None:
    version = version_of(EVENT_TYPES[event_type])
    url = schema_url(event_type, version, BASE)
    response = _get(url.removeprefix("http://console.test/schemas"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    assert response.content == schema_path(event_type, version).read_bytes()
    assert orjson.loads(response.content) == generate(EVENT_TYPES[event_type])


def test_the_dataschema_header_is_the_url_of_the_base_setting() -> None:
    from .test_canonical_events import _placed

    settings = TransformsSettings(schema_base_url="https://scv.example.com/schemas")
    record = to_kafka(_placed(), schema_base_url=settings.schema_base_url)
    headers = dict(record.headers)
    assert headers["ce_dataschema"] == b"https://scv.example.com/schemas/order.placed/v1"
    default = dict(to_kafka(_placed()).headers)["ce_dataschema"]
    assert default == b"http://127.0.0.1:18080/schemas/order.placed/v1"
    assert TransformsSettings().schema_base_url == "http://127.0.0.1:18080/schemas"


def test_a_base_url_with_a_trailing_slash_or_no_scheme_is_refused() -> None:
    import pydantic

    for bad in ("http://host/schemas/", "host/schemas"):
        with pytest.raises(pydantic.ValidationError):
            TransformsSettings(schema_base_url=bad)


def test_mounted_under_a_prefix_it_answers_relative_to_it() -> None:
    # A router that keeps the full path and says where the app is mounted (Starlette's Mount).
    response = _get("/schemas/order.placed/v1", root_path="/schemas")
    assert response.status_code == 200
    assert orjson.loads(response.content)["$id"] == "urn:scv:schema:order.placed:v1"


def test_the_index_lists_every_schema() -> None:
    index = orjson.loads(_get("/").content)
    assert {(s["type"], s["version"]) for s in index["schemas"]} == {
        (t, version_of(m)) for t, m in EVENT_TYPES.items()
    }


@pytest.mark.parametrize("path", ["/order.placed/v2", "/order.shredded/v1", "/../pyproject.toml"])
def test_an_unknown_schema_is_404(path: str) -> None:
    response = _get(path)
    assert response.status_code == 404
    assert "no schema" in orjson.loads(response.content)["error"]


def test_only_reads_are_allowed() -> None:
    response = _get("/order.placed/v1", method="POST")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    head = _get("/order.placed/v1", method="HEAD")
    assert head.status_code == 200
    assert head.content == b""
