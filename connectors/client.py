"""A small, typed Kafka Connect REST client (httpx).

Retries exactly the retryable errors: 409 while the workers rebalance, and connection errors,
for up to ``retry_for`` seconds with a capped exponential back-off. Every other error becomes
one :class:`~connectors.errors.ConnectError` subclass with Connect's own message; a Java trace
that Connect returns (500s, failed tasks) is kept in ``trace`` rather than printed at the user.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from connectors.errors import (
    ConnectError,
    ConnectorNotFound,
    ConnectRebalancing,
    ConnectServerError,
    ConnectUnavailable,
)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    key: str
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TaskState:
    id: int
    state: str
    worker_id: str
    trace: str | None


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    name: str
    state: str
    worker_id: str
    trace: str | None
    tasks: tuple[TaskState, ...]

    @property
    def running(self) -> bool:
        return (
            self.state == "RUNNING"
            and bool(self.tasks)
            and all(t.state == "RUNNING" for t in self.tasks)
        )

    @property
    def failed_trace(self) -> str | None:
        """The first trace of a failed connector or task, if any."""
        if self.trace:
            return self.trace
        return next((t.trace for t in self.tasks if t.state == "FAILED" and t.trace), None)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0].strip()


def connect_auth(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """Basic-auth credentials of the REST API, ``SCV_CONNECT_USERNAME`` and
    ``SCV_CONNECT_PASSWORD`` (``scv stack env`` exports them for a secure stack), or None."""
    env = os.environ if environ is None else environ
    user, password = env.get("SCV_CONNECT_USERNAME"), env.get("SCV_CONNECT_PASSWORD")
    return (user, password) if user and password else None


class ConnectClient:
    """Kafka Connect's REST API, one method per endpoint scv uses.

    ``auth``: basic-auth credentials; by default those the environment gives
    (:func:`connect_auth`), so every client of a secure Connect authenticates."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        retry_for: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            auth=auth if auth is not None else connect_auth(),
        )
        self._retry_for = retry_for
        self._sleep = sleep
        self._clock = clock
        self.base_url = base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConnectClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        what: str = "",
    ) -> Any:
        deadline = self._clock() + self._retry_for
        delay = 0.25
        while True:
            try:
                return self._once(method, path, json=json, params=params, what=what)
            except (ConnectRebalancing, ConnectUnavailable):
                if self._clock() + delay > deadline:
                    raise
                self._sleep(delay)
                delay = min(delay * 2, 4.0)

    def _once(
        self, method: str, path: str, *, json: Any, params: Mapping[str, str] | None, what: str
    ) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TransportError as exc:
            raise ConnectUnavailable(
                f"Kafka Connect at {self.base_url} does not answer ({exc.__class__.__name__}); "
                "is it running? (`scv stack status`)"
            ) from exc
        if response.status_code < 300:
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        message, trace = self._error_text(response)
        status = response.status_code
        subject = what or f"{method} {path}"
        if status == 409:
            raise ConnectRebalancing(f"{subject}: Connect is rebalancing ({message})", status)
        if status == 404:
            raise ConnectorNotFound(f"{subject}: not found on Connect ({message})", status)
        if status == 401:
            raise ConnectError(
                f"{subject}: Connect asks for credentials (401): set SCV_CONNECT_USERNAME and "
                "SCV_CONNECT_PASSWORD (`scv stack env` exports them for a secure stack)",
                status,
                None,
            )
        if status >= 500:
            raise ConnectServerError(f"{subject}: Connect failed: {message}", status, trace)
        raise ConnectError(f"{subject}: Connect refused ({status}): {message}", status, trace)

    @staticmethod
    def _error_text(response: httpx.Response) -> tuple[str, str | None]:
        try:
            body = response.json()
        except ValueError:
            body = None
        text = body.get("message") if isinstance(body, dict) else None
        if not isinstance(text, str):
            text = response.text or response.reason_phrase
        first = _first_line(text) or response.reason_phrase
        return first, text if text.strip() != first else None

    @staticmethod
    def _name(name: str) -> str:
        return quote(name, safe="")

    # -- endpoints ----------------------------------------------------------------------------

    def server_info(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/")
        return result

    def plugins(self) -> list[str]:
        return [p["class"] for p in self._request("GET", "/connector-plugins")]

    def connectors(self) -> list[str]:
        return list(self._request("GET", "/connectors"))

    def get_config(self, name: str) -> dict[str, str] | None:
        """The deployed config, or None if there is no such connector."""
        try:
            config = self._request("GET", f"/connectors/{self._name(name)}/config", what=name)
        except ConnectorNotFound:
            return None
        config.pop("name", None)
        return {str(k): str(v) for k, v in config.items()}

    def put_config(self, name: str, config: Mapping[str, str]) -> None:
        """Create or update (``PUT /connectors/{name}/config`` is idempotent)."""
        self._request("PUT", f"/connectors/{self._name(name)}/config", json=dict(config), what=name)

    def validate(self, connector_class: str, config: Mapping[str, str]) -> list[ConfigProblem]:
        """Connect's own validation; one problem per key with errors."""
        body = self._request(
            "PUT",
            f"/connector-plugins/{self._name(connector_class)}/config/validate",
            json=dict(config),
            what=f"validate {connector_class}",
        )
        problems = []
        for entry in body.get("configs", []):
            value = entry.get("value") or {}
            errors = tuple(e for e in value.get("errors") or () if e)
            if errors:
                problems.append(ConfigProblem(str(value.get("name")), errors))
        return problems

    def status(self, name: str) -> ConnectorStatus:
        body = self._request("GET", f"/connectors/{self._name(name)}/status", what=name)
        connector = body["connector"]
        return ConnectorStatus(
            name=body["name"],
            state=connector["state"],
            worker_id=connector.get("worker_id", ""),
            trace=connector.get("trace"),
            tasks=tuple(
                TaskState(t["id"], t["state"], t.get("worker_id", ""), t.get("trace"))
                for t in body.get("tasks", [])
            ),
        )

    def restart(self, name: str, *, include_tasks: bool = True, only_failed: bool = False) -> None:
        params = {
            "includeTasks": str(include_tasks).lower(),
            "onlyFailed": str(only_failed).lower(),
        }
        self._request("POST", f"/connectors/{self._name(name)}/restart", params=params, what=name)

    def pause(self, name: str) -> None:
        self._request("PUT", f"/connectors/{self._name(name)}/pause", what=name)

    def resume(self, name: str) -> None:
        self._request("PUT", f"/connectors/{self._name(name)}/resume", what=name)

    def stop(self, name: str) -> None:
        self._request("PUT", f"/connectors/{self._name(name)}/stop", what=name)

    def delete(self, name: str) -> None:
        self._request("DELETE", f"/connectors/{self._name(name)}", what=name)

    def offsets(self, name: str) -> list[dict[str, Any]]:
        body = self._request("GET", f"/connectors/{self._name(name)}/offsets", what=name)
        return list(body.get("offsets", []))

    def reset_offsets(self, name: str) -> str:
        body = self._request("DELETE", f"/connectors/{self._name(name)}/offsets", what=name)
        return str((body or {}).get("message", ""))

    def alter_offsets(self, name: str, offsets: list[dict[str, Any]]) -> str:
        body = self._request(
            "PATCH", f"/connectors/{self._name(name)}/offsets", json={"offsets": offsets}, what=name
        )
        return str((body or {}).get("message", ""))
