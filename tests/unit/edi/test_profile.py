"""Partner profiles: the shipped samples load; a bad file is refused with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edi.errors import DocumentRejected, ProfileError
from edi.profile import PARTNERS_DIR, load_partner, load_partners

SAMPLE = PARTNERS_DIR / "acme-retail.yaml"


def _write(tmp_path: Path, name: str, change: dict[str, object]) -> Path:
    data = yaml.safe_load(SAMPLE.read_text())
    for dotted, value in change.items():
        *parents, key = dotted.split(".")
        node = data
        for parent in parents:
            node = node[parent]
        if value is None:
            del node[key]
        else:
            node[key] = value
    data["partner_id"] = name
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_sample_partners_load() -> None:
    partners = load_partners()
    assert sorted(partners) == ["acme-retail", "northwind-depositor"]
    acme = partners["acme-retail"]
    assert acme.documents == {"846", "856"}
    assert acme.envelope().sender_id == "SCVDISTRIB"
    assert acme.unit("CA") == "CA"
    assert partners["northwind-depositor"].unit("CA") == "CS"


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "typo", {"interchange.sender_qualifer": "ZZ"})
    with pytest.raises(ProfileError) as caught:
        load_partner(path)
    assert caught.value.lines == [f"{path}: interchange.sender_qualifer: unknown key"]


def test_an_isa_id_wider_than_15_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "wide", {"interchange.receiver_id": "1234567890123456"})
    with pytest.raises(
        ProfileError, match=r"interchange\.receiver_id: String should have at most 15"
    ):
        load_partner(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interchange.sender_qualifier": "XX"}, "is not an ISA id qualifier"),
        ({"version": "005010"}, "version: Input should be '004010'"),
        ({"documents": [850]}, "documents.0: Input should be '846', '856', '944' or '945'"),
        ({"units": {"EA": "each"}}, "is not a two-letter X12 unit code"),
        ({"separators": {"element": "*", "component": "*"}}, "not distinct"),
        ({"inventory_advice": None}, "846 is enabled but inventory_advice"),
        ({"formats.time_zone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"group.application_sender": "SCV*DC"}, "application_sender: String should match"),
        (
            {"separators": {"element": "/"}, "group.application_sender": "SCV/DC"},
            "holds one of the separators",
        ),
    ],
)
def test_invalid_profiles_say_what_is_wrong(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, "bad", change)
    with pytest.raises(ProfileError) as caught:
        load_partner(path)
    (line,) = caught.value.lines
    assert line.startswith(f"{path}: ")
    assert message in line


def test_a_directory_gives_one_line_per_bad_file(tmp_path: Path) -> None:
    _write(tmp_path, "good", {})
    one = _write(tmp_path, "one", {"colour": "blue", "version": "003040"})
    two = tmp_path / "two.yaml"
    two.write_text("partner_id: [unclosed\n")
    three = _write(tmp_path, "three", {})
    three.rename(tmp_path / "renamed.yaml")
    with pytest.raises(ProfileError) as caught:
        load_partners(tmp_path)
    lines = caught.value.lines
    assert len(lines) == 3
    assert lines[0].startswith(f"{one}: ")
    assert "colour: unknown key" in lines[0]
    assert "version: Input should be '004010'" in lines[0]
    assert "must be the file's name" in lines[1]
    assert lines[2] == f"{two}: not YAML at line 2"


def test_scope_units_and_gtins_refuse_with_a_reason() -> None:
    acme = load_partners()["acme-retail"]
    with pytest.raises(DocumentRejected) as caught:
        acme.unit("LB")
    assert caught.value.reason == "unknown_unit"
    with pytest.raises(DocumentRejected) as caught:
        acme.require_site("30001")
    assert caught.value.reason == "site_out_of_scope"
    with pytest.raises(DocumentRejected) as caught:
        acme.gtin("BOLT-1", None)
    assert caught.value.reason == "missing_gtin"
    with pytest.raises(DocumentRejected) as caught:
        acme.require_document("945")
    assert caught.value.reason == "document_not_enabled"
