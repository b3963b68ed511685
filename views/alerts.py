"""Alerts from position changes, dispatches and probe readings: pure, with hysteresis state.

Every alert belongs to an *episode* of one kind for one subject (``site|item``, an order, a
sensor). An episode is raised once, when its condition starts, and resolved once, when it
ends; while it is open, further events that keep the condition true say nothing. So a
position sliding further below its reorder point raises nothing more, and one oscillating
around it raises one alert per downward crossing and one resolve per recovery. A resolve
margin (``resolve_margin``) widens the band: the episode only ends once available is back at
``reorder point + margin``, so jitter just above the line stays one episode.

Kinds:

    below_reorder_point    available < reorder point (per site x item, or the default)
    projected_stockout     available + in transit + on order < 0: even every scheduled
                           receipt leaves committed demand unserved
    late_shipment          an order not dispatched by its promised ship date (raised when
                           the stream's clock passes the date, resolved on dispatch), or
                           dispatched after it (raised at dispatch)
    temperature_excursion  a probe outside its class range for at least the tolerance, or
                           (2-8 °C class) any reading at or below 0 °C: critical at once
    short_shipment         an order shipped less than ordered; late_delivery: an order
                           projected to miss its promised delivery date (both per order, raised
                           and resolved by ``views.orders``)
    late_inbound_po        a PO line's promised day is over and no receipt closed it
                           (``views.suppliers``)
    supplier.otif_dropped  a supplier's rolling OTIF fell below the threshold
                           (``views.suppliers``)
    demand.shift           an item x site (or region) order rate left its baseline for a
                           sustained window (``views.demand``)

Alert and episode ids are UUIDv5 of what caused them, so a rebuild raises the same ids.
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from transforms.events import CanonicalEvent, ShipmentDispatched, TemperatureRecorded
from views.positions import Key, Position

ALERT_NAMESPACE = uuid.UUID("7d0c55a4-31b2-4a51-8e0c-2c1f9a3e6b42")

Kind = Literal[
    "below_reorder_point",
    "projected_stockout",
    "late_shipment",
    "temperature_excursion",
    "short_shipment",
    "late_delivery",
    "late_inbound_po",
    "supplier.otif_dropped",
    "demand.shift",
]
KINDS: tuple[Kind, ...] = typing.get_args(Kind)
Action = Literal["raised", "resolved"]
Severity = Literal["info", "warning", "major", "critical"]
_RANK: dict[str, int] = {"info": 0, "warning": 1, "major": 2, "critical": 3}


class Alert(BaseModel):
    """One alert record on ``scv.alerts.v1`` (key: ``subject``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: uuid.UUID
    episode_id: uuid.UUID
    kind: Kind
    action: Action
    severity: Severity
    subject: str
    message: str
    occurred_at: datetime
    cause_event_id: uuid.UUID
    site_id: str | None = None
    item_id: str | None = None
    order_id: str | None = None
    sensor_id: str | None = None
    po_id: str | None = None
    supplier_id: str | None = None
    #: A demand series (``views.demand``): ``site|item`` or ``region:<name>``.
    series: str | None = None
    measured: Decimal | None = None
    threshold: Decimal | None = None


#: Temperature classes (°C, inclusive): research note §7.
TEMPERATURE_CLASSES: dict[str, tuple[Decimal, Decimal]] = {
    "REFRIGERATED": (Decimal(2), Decimal(8)),
    "FROZEN": (Decimal(-50), Decimal(-15)),
    "ULTRA_COLD": (Decimal(-90), Decimal(-60)),
}


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Thresholds; built from the views settings."""

    #: Reorder point per ``site|item``; others use ``default_reorder_point`` (None: no alert).
    reorder_points: Mapping[str, Decimal] = field(default_factory=dict)
    default_reorder_point: Decimal | None = None
    resolve_margin: Decimal = Decimal(0)
    excursion_tolerance: timedelta = timedelta(minutes=30)
    #: Sensor id → temperature class; others are ``default_temperature_class`` (the probes
    #: of the cold rooms hold the 2-8 °C cold-chain items).
    sensor_classes: Mapping[str, str] = field(default_factory=dict)
    default_temperature_class: str = "REFRIGERATED"

    def reorder_point(self, key: Key) -> Decimal | None:
        return self.reorder_points.get(f"{key[0]}|{key[1]}", self.default_reorder_point)


def _local_date(moment: datetime, offset: str | None) -> date:
    if offset is None:
        return moment.date()
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return (moment + sign * timedelta(hours=int(hours), minutes=int(minutes))).date()


class Monitor:
    """Open episodes and probe state; ``state``/``dirty`` are what the store persists."""

    def __init__(self, policy: AlertPolicy) -> None:
        self.policy = policy
        self.state: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.clock: datetime | None = None

    def load(self, key: str, value: Mapping[str, Any]) -> None:
        self.state[key] = dict(value)

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def _set(self, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.state.pop(key, None)
        else:
            self.state[key] = value
        self.dirty.add(key)

    def _alert(
        self,
        kind: Kind,
        action: Action,
        severity: Severity,
        subject: str,
        cause: CanonicalEvent,
        message: str,
        **extra: Any,
    ) -> Alert:
        key = f"episode|{kind}|{subject}"
        if action == "raised" and key not in self.state:
            episode = uuid.uuid5(ALERT_NAMESPACE, f"{kind}|{subject}|{cause.event_id}")
            self._set(key, {"episode_id": str(episode), "severity": severity})
        elif action == "raised":
            episode = uuid.UUID(self.state[key]["episode_id"])
            self._set(key, {"episode_id": str(episode), "severity": severity})
        else:
            episode = uuid.UUID(self.state[key]["episode_id"])
            self._set(key, None)
        return Alert(
            alert_id=uuid.uuid5(ALERT_NAMESPACE, f"{episode}|{action}|{cause.event_id}"),
            episode_id=episode,
            kind=kind,
            action=action,
            severity=severity,
            subject=subject,
            message=message,
            occurred_at=cause.occurred_at,
            cause_event_id=cause.event_id,
            **extra,
        )

    def episode(
        self,
        kind: Kind,
        action: Action,
        severity: Severity,
        subject: str,
        cause: CanonicalEvent,
        message: str,
        **extra: Any,
    ) -> Alert:
        """Raise or resolve an episode for another view module (``views.suppliers``,
        ``views.demand``): the same ids, state and once-per-episode rule as the kinds here."""
        return self._alert(kind, action, severity, subject, cause, message, **extra)

    def is_open(self, kind: Kind, subject: str) -> bool:
        return f"episode|{kind}|{subject}" in self.state

    # -- positions -----------------------------------------------------------------------------

    def position_changed(self, key: Key, after: Position, cause: CanonicalEvent) -> list[Alert]:
        subject = f"{key[0]}|{key[1]}"
        ids = {"site_id": key[0], "item_id": key[1]}
        alerts: list[Alert] = []
        rop = self.policy.reorder_point(key)
        margin = self.policy.resolve_margin
        if rop is not None:
            available = after.available
            if not self.is_open("below_reorder_point", subject) and available < rop:
                alerts.append(
                    self._alert(
                        "below_reorder_point",
                        "raised",
                        "warning",
                        subject,
                        cause,
                        f"available {available} fell below the reorder point {rop}",
                        measured=available,
                        threshold=rop,
                        **ids,
                    )
                )
            elif self.is_open("below_reorder_point", subject) and available >= rop + margin:
                alerts.append(
                    self._alert(
                        "below_reorder_point",
                        "resolved",
                        "info",
                        subject,
                        cause,
                        f"available {available} is back at the reorder point {rop}",
                        measured=available,
                        threshold=rop,
                        **ids,
                    )
                )
        projected = after.projected
        if not self.is_open("projected_stockout", subject) and projected < 0:
            alerts.append(
                self._alert(
                    "projected_stockout",
                    "raised",
                    "major",
                    subject,
                    cause,
                    f"committed demand exceeds stock and every scheduled receipt by {-projected}",
                    measured=projected,
                    threshold=Decimal(0),
                    **ids,
                )
            )
        elif self.is_open("projected_stockout", subject) and projected >= margin:
            alerts.append(
                self._alert(
                    "projected_stockout",
                    "resolved",
                    "info",
                    subject,
                    cause,
                    f"stock and scheduled receipts cover committed demand again ({projected})",
                    measured=projected,
                    threshold=Decimal(0),
                    **ids,
                )
            )
        return alerts

    # -- shipments -----------------------------------------------------------------------------

    def dispatched(self, event: ShipmentDispatched, promised: date | None) -> list[Alert]:
        subject = event.order_id
        ids = {"order_id": event.order_id, "site_id": event.site_id}
        shipped_on = _local_date(event.occurred_at, event.occurred_tz_offset)
        if self.is_open("late_shipment", subject):
            return [
                self._alert(
                    "late_shipment",
                    "resolved",
                    "info",
                    subject,
                    event,
                    f"dispatched on {shipped_on} (promised {promised})",
                    **ids,
                )
            ]
        if promised is not None and shipped_on > promised:
            return [
                self._alert(
                    "late_shipment",
                    "raised",
                    "warning",
                    subject,
                    event,
                    f"dispatched on {shipped_on}, {(shipped_on - promised).days} day(s) after "
                    f"the promised ship date {promised}",
                    **ids,
                )
            ]
        return []

    def overdue(
        self, cause: CanonicalEvent, open_orders: Iterable[tuple[str, str | None, date]]
    ) -> list[Alert]:
        """Orders still open after their promised ship date, as of ``cause``'s time."""
        today = _local_date(cause.occurred_at, cause.occurred_tz_offset)
        alerts = []
        for order_id, site_id, promised in open_orders:
            if promised < today and not self.is_open("late_shipment", order_id):
                alerts.append(
                    self._alert(
                        "late_shipment",
                        "raised",
                        "major",
                        order_id,
                        cause,
                        f"not dispatched by the promised ship date {promised}",
                        order_id=order_id,
                        site_id=site_id,
                    )
                )
        return alerts

    # -- temperature ---------------------------------------------------------------------------

    def temperature(self, event: TemperatureRecorded) -> list[Alert]:
        sensor = event.sensor_id
        cls = self.policy.sensor_classes.get(sensor, self.policy.default_temperature_class)
        low, high = TEMPERATURE_CLASSES[cls]
        reading = event.temperature_c
        key = f"sensor|{sensor}"
        probe = self.state.get(key, {})
        ids = {"sensor_id": sensor, "site_id": event.site_id, "measured": reading}
        open_ = self.is_open("temperature_excursion", sensor)
        if low <= reading <= high:
            if probe:
                self._set(key, None)
            if not open_:
                return []
            return [
                self._alert(
                    "temperature_excursion",
                    "resolved",
                    "info",
                    sensor,
                    event,
                    f"{reading} °C is back in the {cls} range {low}..{high} °C",
                    **ids,
                )
            ]
        since = datetime.fromisoformat(probe["since"]) if probe else event.occurred_at
        if not probe:
            self._set(key, {"since": since.isoformat()})
        severity: Severity | None = None
        if cls == "REFRIGERATED" and reading <= 0:
            severity = "critical"
            why = f"{reading} °C: a freezing reading destroys 2-8 °C product"
        elif event.occurred_at - since >= self.policy.excursion_tolerance:
            severity = "major"
            minutes = int((event.occurred_at - since).total_seconds() // 60)
            why = f"{reading} °C, outside {low}..{high} °C for {minutes} min"
        if severity is None:
            return []
        if (
            open_
            and _RANK[severity]
            <= _RANK[self.state[f"episode|temperature_excursion|{sensor}"]["severity"]]
        ):
            return []
        return [
            self._alert(
                "temperature_excursion",
                "raised",
                severity,
                sensor,
                event,
                why,
                threshold=low if reading < low else high,
                **ids,
            )
        ]
