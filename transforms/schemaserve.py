"""The canonical JSON Schemas over HTTP: a plain ASGI app the console mounts at ``/schemas``,
so each event's CloudEvents ``dataschema`` (``<schema_base_url>/<event_type>/v<N>``,
``transforms.events.schema_url``) resolves.

``GET /<event_type>/v<N>`` answers the committed working copy
(``transforms/schemas/<event_type>.v<N>.json``, what the running code emits) as
``application/schema+json``; ``GET /`` lists every schema with its path. No framework: any
ASGI server or router can mount it (Starlette: ``Mount("/schemas", app=schemas_app)``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson

from transforms.events import EVENT_TYPES
from transforms.jsonschemas import SCHEMA_DIR, schema_path, version_of

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_ROUTE = re.compile(r"^/(?P<type>[a-z][a-z_]*\.[a-z][a-z_]*)/v(?P<version>[1-9][0-9]{0,3})/?$")


def _schemas(directory: Path) -> dict[tuple[str, int], bytes]:
    """Every committed schema by (event type, version), read once."""
    found = {}
    for event_type, model in EVENT_TYPES.items():
        path = schema_path(event_type, version_of(model), directory)
        found[(event_type, version_of(model))] = path.read_bytes()
    return found


class SchemaApp:
    """The ASGI app; the schema files are read when it is made (they ship with the code)."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self._schemas = _schemas(directory)
        self._index = orjson.dumps(
            {
                "schemas": [
                    {"type": t, "version": v, "path": f"{t}/v{v}"} for t, v in sorted(self._schemas)
                ]
            }
        )

    def answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request relative to the mount point."""
        if method not in ("GET", "HEAD"):
            return 405, "application/json", b'{"error":"method not allowed"}'
        if path in ("", "/"):
            return 200, "application/json", self._index
        match = _ROUTE.match(path)
        body = None
        if match is not None:
            body = self._schemas.get((match["type"], int(match["version"])))
        if body is None:
            error = {"error": f"no schema at {path}", "index": "./"}
            return 404, "application/json", orjson.dumps(error)
        return 200, "application/schema+json", body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets: nothing to do
            return
        path: str = scope.get("path", "/")
        # Mounted under a prefix, the router may keep it in ``path`` and say so in root_path.
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        status, content_type, body = self.answer(scope.get("method", "GET"), path)
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, max-age=300"),
        ]
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body}
        )


def schemas_app() -> SchemaApp:
    return SchemaApp()
