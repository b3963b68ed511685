"""The trading partners the batch writes for, from the partner profile YAML files.

The legacy job reads the same files the stream's EDI stage uses (``edi/partners/*.yaml``),
but only the fields a batch needs, and without the stream's validation: it never checks that
an item has the GTIN the partner requires (defect ``gtin_not_enforced``); it does refuse a
file it cannot use at all (not YAML, a missing envelope id), one line per bad file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from legacy_sim.errors import SimConfigError

#: Transaction sets the batch writes.
DOCUMENTS = ("846", "856", "944", "945")


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    usage: str
    acknowledgment_requested: bool
    application_sender: str
    application_receiver: str
    element: str
    component: str
    segment: str
    line_break: bool
    documents: frozenset[str]
    sites: Mapping[str, str]
    #: None: every item.
    items: frozenset[str] | None
    units: Mapping[str, str]
    require_gtin: bool
    time_format: str
    time_zone: str
    time_code: str | None

    def covers(self, document: str, site: str) -> bool:
        return document in self.documents and site in self.sites

    def covers_item(self, item: str) -> bool:
        return self.items is None or item in self.items

    def unit(self, uom: str) -> str:
        """The partner's unit code; a unit it does not map is written as the ERP has it."""
        return self.units.get(uom, uom)


def load_partners(directory: Path) -> list[Partner]:
    """Every ``*.yaml`` of ``directory``, by partner id; one error line per unusable file."""
    if not directory.is_dir():
        raise SimConfigError(f"{directory}: no such directory of partner profiles")
    partners: list[Partner] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            partners.append(_partner(path))
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as err:
            problems.append(f"{path}: {_why(err)}")
    if problems:
        raise SimConfigError("; ".join(problems))
    if not partners:
        raise SimConfigError(f"{directory}: no partner profile (*.yaml)")
    return partners


def _why(err: Exception) -> str:
    if isinstance(err, OSError):
        return f"cannot be read ({err.strerror or err})"
    if isinstance(err, yaml.YAMLError):
        return "not YAML"
    if isinstance(err, KeyError):
        return f"missing key {err.args[0]}"
    return str(err)


def _partner(path: Path) -> Partner:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a profile is a mapping of keys")
    ids = _mapping(data, "interchange")
    group = _mapping(data, "group")
    sep = data.get("separators") or {}
    formats = data.get("formats") or {}
    items = data.get("items", "all")
    documents = frozenset(str(d) for d in data["documents"])
    unknown = documents - set(DOCUMENTS)
    if unknown:
        raise ValueError(f"documents {sorted(unknown)} are not written by the batch")
    return Partner(
        partner_id=path.stem,
        sender_qualifier=str(ids["sender_qualifier"]),
        sender_id=str(ids["sender_id"]),
        receiver_qualifier=str(ids["receiver_qualifier"]),
        receiver_id=str(ids["receiver_id"]),
        usage=str(ids.get("usage", "P")),
        acknowledgment_requested=bool(ids.get("acknowledgment_requested", False)),
        application_sender=str(group["application_sender"]),
        application_receiver=str(group["application_receiver"]),
        element=str(sep.get("element", "*")),
        component=str(sep.get("component", ">")),
        segment=str(sep.get("segment", "~")),
        line_break=bool(sep.get("line_break", True)),
        documents=documents,
        sites={str(k): str(v) for k, v in _mapping(data, "sites").items()},
        items=None if items == "all" else frozenset(str(i) for i in items),
        units={str(k): str(v) for k, v in _mapping(data, "units").items()},
        require_gtin=bool(data.get("require_gtin", False)),
        time_format=str(formats.get("time", "HHMM")),
        time_zone=str(formats.get("time_zone", "UTC")),
        time_code=None if formats.get("time_code") is None else str(formats["time_code"]),
    )


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping")
    return value
