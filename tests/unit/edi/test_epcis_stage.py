"""The EPCIS stage's edges that need no broker: the reject record and the atomic file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from edi.epcis_flow import Rejected
from edi.epcis_stage import reject_value, write_atomically
from edi.errors import OutboxError
from edi.plan import Where


def test_a_reject_record_names_its_source_event_and_where_it_was_read() -> None:
    source = uuid.uuid4()
    value = json.loads(
        reject_value(
            Rejected(source, "goods.received", "missing_gtin", "no GTIN", Where("t", 2, 9))
        )
    )
    assert value == {
        "source_event_id": str(source),
        "source_event_type": "goods.received",
        "reason": "missing_gtin",
        "detail": "no GTIN",
        "topic": "t",
        "partition": 2,
        "offset": 9,
    }


def test_the_document_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "epcis.jsonld"
    write_atomically(out, b"{}")
    assert out.read_bytes() == b"{}"
    write_atomically(out, b'{"a":1}')
    assert out.read_bytes() == b'{"a":1}'
    assert sorted(p.name for p in out.parent.iterdir()) == ["epcis.jsonld"]  # no temp left


def test_an_unwritable_place_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutboxError, match="cannot write"):
        write_atomically(blocker / "epcis.jsonld", b"{}")
