"""Reconciliation: stream-derived positions against the legacy sources' current truth.

A *truth* is what one source says about some buckets per site x item, for example the ERP
book (``f41021``: on hand, soft + hard commit, on order) or the WMS bins (``LOTxLOCxID``: on
hand, allocated, picked). Every bucket a source states is compared for every key either side
knows (a key missing on one side counts as zero there), so a position the stream invented is
found as well as one it missed. Run it at a quiesce point: the sources idle and the pipeline
and the view process caught up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from views.positions import BUCKETS, Key, Position


@dataclass(frozen=True, slots=True)
class Truth:
    """One source's statement: ``buckets`` per key (base unit)."""

    source: str
    buckets: Sequence[str]
    values: Mapping[Key, Mapping[str, Decimal]]


@dataclass(frozen=True, slots=True)
class Mismatch:
    source: str
    site_id: str
    item_id: str
    bucket: str
    stream: Decimal
    truth: Decimal

    @property
    def difference(self) -> Decimal:
        return self.stream - self.truth


def compare(stream: Mapping[Key, Position], truths: Sequence[Truth]) -> list[Mismatch]:
    found = []
    for truth in truths:
        unknown = [b for b in truth.buckets if b not in BUCKETS and b != "available"]
        if unknown:
            raise ValueError(f"{truth.source}: unknown buckets {unknown}")
        for key in sorted(set(stream) | set(truth.values)):
            position = stream.get(key, Position())
            stated = truth.values.get(key, {})
            for bucket in truth.buckets:
                mine = position.as_dict()[bucket]
                theirs = stated.get(bucket, Decimal(0))
                if mine != theirs:
                    found.append(Mismatch(truth.source, key[0], key[1], bucket, mine, theirs))
    return found
