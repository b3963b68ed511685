"""The suite files: GX 1.x expectation-suite JSON, the single source of truth for quality rules.

``suites/gating/<event_type>.json`` holds the row-level rules that decide, per event, pass or
quarantine; ``suites/monitoring/<event_type>.json`` holds aggregate rules (row counts, means,
distributions) that only the report evaluates, because they cannot name a failing row.

Loading reads plain JSON (no GX import: the hot path must not pay 1.7 s for it). Every
expectation carries a stable ``meta.rule_id``: quarantine headers, ``--rule`` filters and the
report use it, and the simulator's anomaly catalogue (``expectations.anomalies``) refers to it.

Columns name canonical-event fields; a nested field is ``parent__child`` (``source__table``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from expectations.errors import SuiteError

SUITES_DIR: Final = Path(__file__).parent / "suites"
Purpose = Literal["gating", "monitoring"]

#: Expectation types whose verdict is per row (``unexpected_index_list`` in GX): the only
#: ones a gating suite may contain.
ROW_LEVEL_TYPES: Final = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_valid_gtin",
    }
)
SEVERITIES: Final = frozenset({"critical", "warning", "info"})
NESTED_SEPARATOR: Final = "__"


@dataclass(frozen=True, slots=True)
class ExpectationSpec:
    """One expectation of a suite file, as written."""

    type: str
    kwargs: Mapping[str, Any]
    rule_id: str
    severity: str
    meta: Mapping[str, Any]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the expectation reads."""
        kw = self.kwargs
        if "column" in kw:
            return (str(kw["column"]),)
        if "column_list" in kw:
            return tuple(str(c) for c in kw["column_list"])
        return ()

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))

    def describe(self) -> str:
        """``rule_id (type on columns)``: one line for logs and headers."""
        short = self.type.removeprefix("expect_")
        return f"{self.rule_id} ({short} on {', '.join(self.columns) or 'table'})"


@dataclass(frozen=True, slots=True)
class Suite:
    """A suite file: its GX name, the event type it gates or monitors, its expectations."""

    name: str
    event_type: str
    purpose: Purpose
    expectations: tuple[ExpectationSpec, ...]
    path: Path
    digest: str  # first 12 hex of the file's SHA-256: which version of the rules decided

    @property
    def label(self) -> str:
        """``name@digest``: the value of the ``dq.suite`` quarantine header."""
        return f"{self.name}@{self.digest}"

    def rule(self, rule_id: str) -> ExpectationSpec:
        for spec in self.expectations:
            if spec.rule_id == rule_id:
                return spec
        raise KeyError(rule_id)

    def raw(self) -> dict[str, Any]:
        """The file's JSON (for GX)."""
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data


def _spec(path: Path, index: int, item: object) -> ExpectationSpec:
    where = f"{path.name}: expectation {index}"
    if not isinstance(item, dict):
        raise SuiteError(f"{where} is not an object")
    type_ = item.get("type")
    kwargs = item.get("kwargs")
    meta = item.get("meta") or {}
    if not isinstance(type_, str) or not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise SuiteError(f"{where}: needs a string 'type' and an object 'kwargs'")
    rule_id = meta.get("rule_id")
    if not isinstance(rule_id, str) or not rule_id:
        raise SuiteError(f"{where} ({type_}): meta.rule_id is missing")
    severity = str(item.get("severity") or "critical")
    if severity not in SEVERITIES:
        raise SuiteError(f"{where} ({rule_id}): severity {severity!r} is not one of {SEVERITIES}")
    return ExpectationSpec(type_, kwargs, rule_id, severity, meta)


def load_suite(path: Path) -> Suite:
    """Read one suite file; refuse a malformed one with a message naming the file."""
    try:
        body = path.read_bytes()
        data = json.loads(body)
    except (OSError, ValueError) as exc:
        raise SuiteError(f"cannot read suite {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path.name}: not a GX expectation suite (no 'expectations' list)")
    meta = data.get("meta") or {}
    event_type = meta.get("event_type")
    purpose = meta.get("purpose")
    if not isinstance(event_type, str) or purpose not in ("gating", "monitoring"):
        raise SuiteError(
            f"{path.name}: meta.event_type and meta.purpose (gating|monitoring) needed"
        )
    specs = tuple(_spec(path, i, item) for i, item in enumerate(data["expectations"]))
    seen: set[str] = set()
    for spec in specs:
        if spec.rule_id in seen:
            raise SuiteError(f"{path.name}: rule_id {spec.rule_id!r} appears twice")
        seen.add(spec.rule_id)
    if purpose == "gating":
        for spec in specs:
            if spec.type not in ROW_LEVEL_TYPES:
                raise SuiteError(
                    f"{path.name}: {spec.rule_id} is a {spec.type}, not a row-level expectation; "
                    "aggregate expectations belong in a monitoring suite"
                )
    return Suite(
        name=str(data.get("name") or path.stem),
        event_type=event_type,
        purpose=purpose,
        expectations=specs,
        path=path,
        digest=hashlib.sha256(body).hexdigest()[:12],
    )


def load_suites(purpose: Purpose, directory: Path = SUITES_DIR) -> dict[str, Suite]:
    """Every suite of one purpose, keyed by event type."""
    folder = directory / purpose
    suites: dict[str, Suite] = {}
    for path in sorted(folder.glob("*.json")):
        suite = load_suite(path)
        if suite.purpose != purpose:
            raise SuiteError(f"{path}: meta.purpose is {suite.purpose!r}, folder says {purpose}")
        if suite.event_type in suites:
            raise SuiteError(f"{path.name}: a second {purpose} suite for {suite.event_type}")
        suites[suite.event_type] = suite
    if not suites:
        raise SuiteError(f"no {purpose} suites in {folder}")
    return suites
