"""The dashboard and the alert rules under ``ops/`` reference only metrics of the catalogue,
with labels those metrics have."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics.catalogue import CATALOGUE, series_names

OPS = Path(__file__).parents[3] / "ops"
METRIC = re.compile(r"\b(scv_[a-z0-9_]+)\b")
#: ``by (...)``, ``on (...)`` and selector labels.
GROUPING = re.compile(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"\b(scv_[a-z0-9_]+)\{([^}]*)\}")
LABELS = {s: set(m.labels) | {"le"} for m in CATALOGUE for s in m.series}


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def _dashboard() -> list[str]:
    return list(_exprs(json.loads((OPS / "grafana-dashboard.json").read_text())))


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((OPS / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


EXPRESSIONS = [*_dashboard(), *(rule["expr"] for rule in _rules())]


def test_there_is_something_to_check() -> None:
    assert len(_dashboard()) >= 20
    assert len(_rules()) >= 10


def problems(expr: str) -> list[str]:
    """What ``expr`` references that the catalogue does not declare."""
    used = set(METRIC.findall(expr))
    if not used:
        return ["no scv metric"]
    found = [f"unknown metric {name}" for name in sorted(used - series_names())]
    have = set().union(*(LABELS.get(name, set()) for name in used))
    for group in GROUPING.findall(expr):
        labels = {label.strip() for label in group.split(",") if label.strip()}
        found += [f"unknown label {label}" for label in sorted(labels - have)]
    for name, selector in SELECTOR.findall(expr):
        labels = {part.split("=")[0].strip().rstrip("!~") for part in selector.split(",")}
        found += [
            f"{name} has no label {label}" for label in sorted(labels - LABELS.get(name, set()))
        ]
    return found


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_every_metric_and_label_referenced_exists(expr: str) -> None:
    assert problems(expr) == []


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(scv_pipeline_produced_events_total[5m])", "unknown metric"),
        ("sum by (evnt_type) (rate(scv_pipeline_produced_total[5m]))", "unknown label evnt_type"),
        ('scv_connector_running{state="FAILED"}', "has no label state"),
        ("sum(rate(http_requests_total[5m]))", "no scv metric"),
    ],
)
def test_a_wrong_reference_is_caught(expr: str, expected: str) -> None:
    assert any(expected in problem for problem in problems(expr)), problems(expr)


def test_every_rule_is_complete_and_every_panel_has_a_datasource() -> None:
    names = [rule["alert"] for rule in _rules()]
    assert len(names) == len(set(names))
    for rule in _rules():
        assert rule["labels"]["severity"] in ("page", "warn"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel["datasource"], panel["title"]
