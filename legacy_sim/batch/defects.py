"""The named defects of the legacy batch, and the record of each firing.

A defect is a behaviour of the old job, on purpose and deterministic given what it reads:

    stage_lanes_excluded     846: on hand counts the rack bins only; picked cartons waiting in
                             the stage lanes for the evening's ship confirm (``QtyPicked``) are
                             left out, as if shipped (the job runs mid day-close)
    bins_read_after_book     846: committed comes from the ERP book, on hand from the WMS bins,
                             read in a second transaction after the book: a change committed
                             between the two reads is counted on one side only
    ordered_in_order_unit    945: W12 ordered (and difference) is the order line's quantity in
                             the order's unit (2 cases), shipped is the warehouse's (24 each)
    gtin_not_enforced        846/856: an item without a GTIN is sent with its vendor number
                             only, to a partner whose profile requires a GTIN (the stream
                             refuses such a document, so the partner gets it from the batch only)
    missed_late_commit       856/945: shipments are selected by their ``EditDate`` stamp up to
                             the cut-off, as the query saw them when it started; one stamped
                             before the cut-off but committed after the query started is never
                             sent (tomorrow's window starts at the cut-off). The job's control
                             re-query at its end finds them: that is where the firing comes from
    reversed_receipt_dropped 944: receipts are selected with match type 1 only; a receipt
                             reversed before the job ran (match type 4) is not advised at all

With a defect switched off the job does the right thing instead: on hand from the book (one
read with committed), stage lanes counted, ordered in the base unit, the document left out,
the missed shipments read again and included, reversed receipts advised as received.

A ``Firing`` names the record the way the parity report keys it: document, partner, document
key (shipment id, receipt id, site), line key, and what it explains: that the document is on
one side only (``scope="presence"``), anything about one line (``"line"``), or some fields of
one line (``"fields"``; with no line, fields of the document's header).
``effects`` says by how much the defect moved a numeric field (batch value minus the value
without the defect), so the report can check that the defect accounts for the whole
difference and not just part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

Scope = Literal["presence", "line", "fields"]

DEFECTS: Final[dict[str, str]] = {
    "stage_lanes_excluded": (
        "846 on hand counts the rack bins only: picked cartons in the stage lanes, waiting for "
        "the day-close ship confirm, are left out as if shipped"
    ),
    "bins_read_after_book": (
        "846 committed comes from the ERP book and on hand from the WMS bins, read after it in "
        "another transaction: a change committed between the two reads is on one side only"
    ),
    "ordered_in_order_unit": (
        "945 W12 ordered and difference are in the order line's unit (cases), shipped in the "
        "warehouse's base unit"
    ),
    "gtin_not_enforced": (
        "items without a GTIN are sent with their vendor number only to a partner that "
        "requires a GTIN (the stream refuses such a document)"
    ),
    "missed_late_commit": (
        "shipments are selected by EditDate up to the cut-off as the query saw them when it "
        "started: one stamped before the cut-off but committed after the query started is "
        "never sent"
    ),
    "reversed_receipt_dropped": (
        "944 selects receipts of match type 1 only: a receipt reversed before the job ran is "
        "never advised"
    ),
}


@dataclass(frozen=True, slots=True)
class Firing:
    """One defect firing on one record (see the module docstring for the keys)."""

    defect: str
    document: str
    partner: str
    key: str
    detail: str
    line: tuple[str, ...] | None = None
    scope: Scope = "presence"
    fields: tuple[str, ...] = ()
    effects: dict[str, Decimal] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "defect": self.defect,
            "document": self.document,
            "partner": self.partner,
            "key": self.key,
            "line": None if self.line is None else list(self.line),
            "scope": self.scope,
            "fields": list(self.fields) or None,
            "effects": {k: str(v) for k, v in self.effects.items()} or None,
            "detail": self.detail,
        }
