"""The connectors' figures as metrics: the states and data-loss risk of ``scv connectors
status`` (retained WAL bytes of a PostgreSQL slot, binlog head-room of a MariaDB connector),
read from Connect and the sources at each scrape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import metrics
from connectors.client import ConnectClient
from connectors.errors import ConnectError, ConnectorNotFound
from connectors.ops import Risk, Spec, risk
from connectors.settings import ConnectorsSettings

NOT_DEPLOYED = "NOT DEPLOYED"
#: Every state a connector or task may report (a gauge per state, 0 or 1, so a dashboard
#: and an alert see the state change rather than a label appearing).
STATES = ("RUNNING", "PAUSED", "FAILED", "UNASSIGNED", "RESTARTING", "STOPPED", NOT_DEPLOYED)
LEVELS = ("ok", "warn", "critical", "unknown")
CONNECTOR_METRICS = (
    "scv_connector_running",
    "scv_connector_state",
    "scv_connector_tasks",
    "scv_connector_data_loss_risk",
    "scv_connector_retained_wal_bytes",
    "scv_connector_binlog_headroom_seconds",
)
Log = Callable[[str], None]
#: Seconds a Connect request may take during a scrape (Prometheus gives up at 10 s).
SCRAPE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ConnectorReading:
    name: str
    state: str
    task_states: tuple[str, ...]
    running: bool
    risk: Risk


def read(
    specs: Sequence[Spec], client: ConnectClient, settings: ConnectorsSettings
) -> list[ConnectorReading]:
    """What ``scv connectors status`` shows, per spec."""
    found = []
    for spec in specs:
        try:
            st = client.status(spec.name)
            state, tasks, running = st.state, tuple(t.state for t in st.tasks), st.running
        except ConnectorNotFound:
            state, tasks, running = NOT_DEPLOYED, (), False
        found.append(
            ConnectorReading(spec.name, state, tasks, running, risk(spec, client, settings))
        )
    return found


def readings(found: Sequence[ConnectorReading]) -> list[metrics.Reading]:
    out: list[metrics.Reading] = []
    for c in found:
        name = {"connector": c.name}
        out.append(metrics.Reading("scv_connector_running", float(c.running), name))
        states = STATES if c.state in STATES else (*STATES, c.state)
        for state in states:
            out.append(
                metrics.Reading(
                    "scv_connector_state", float(state == c.state), name | {"state": state}
                )
            )
        for state in sorted({*STATES[:-1], *c.task_states}):
            n = sum(s == state for s in c.task_states)
            out.append(metrics.Reading("scv_connector_tasks", n, name | {"state": state}))
        for level in LEVELS:
            out.append(
                metrics.Reading(
                    "scv_connector_data_loss_risk",
                    float(level == c.risk.level),
                    name | {"level": level},
                )
            )
        facts = c.risk.facts
        if "retained_wal_bytes" in facts:
            out.append(
                metrics.Reading(
                    "scv_connector_retained_wal_bytes",
                    facts["retained_wal_bytes"],
                    name | {"slot": str(facts.get("slot", ""))},
                )
            )
        if "headroom_s" in facts:
            out.append(
                metrics.Reading("scv_connector_binlog_headroom_seconds", facts["headroom_s"], name)
            )
    return out


def collector(
    specs: Sequence[Spec], settings: ConnectorsSettings, log: Log
) -> metrics.ReadingsCollector:
    """Scrape-time connector figures; Connect unreachable leaves them out (and says so)."""

    def scrape() -> list[metrics.Reading]:
        try:
            with ConnectClient(
                settings.connect_url,
                timeout=min(settings.http_timeout, SCRAPE_TIMEOUT_S),
                retry_for=0,
            ) as client:
                return readings(read(specs, client, settings))
        except ConnectError as exc:
            log(f"metrics: connector status not read: {exc}")
            return []

    return metrics.ReadingsCollector(CONNECTOR_METRICS, scrape)
