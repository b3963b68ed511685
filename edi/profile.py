"""Trading-partner profiles: one YAML file per partner in ``edi/partners/``, validated before use.

A profile says everything the document builders may not guess:

    partner_id          the file's stem (``acme-retail.yaml`` → ``acme-retail``)
    interchange         ISA05-08 qualifiers and ids (ids 1-15 characters, padded by the
                        writer), usage indicator (P/T), whether a TA1 is requested
    group               GS02/GS03 application sender and receiver codes
    version             ``004010`` (the only version written)
    separators          element, component, segment terminator, a line break after each
                        segment or not
    documents           which of 846, 856, 944, 945 the partner receives
    sites, items        which sites (id → name for the N1 segments) and items (a list, or
                        ``all``) are the partner's business
    units               canonical unit → X12 unit code (355); a unit not listed is refused
    require_gtin        whether an item without a GTIN may be sent at all
    inventory_advice    the 846 schedule (minutes between two advices)
    formats             time format (HHMM or HHMMSS), the partner's time zone, DTM04 time code

Unknown keys are refused (a misspelt key must not silently fall back to a default). The
loader reads a directory and reports one line per bad file: ``ProfileError.lines``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edi.errors import DocumentRejected, ProfileError, X12Error
from edi.x12 import Envelope, Separators

#: The directory of the partner profiles shipped with the project.
PARTNERS_DIR = Path(__file__).parent / "partners"

DocumentType = Literal["846", "856", "944", "945"]

#: ISA05/ISA07 interchange id qualifiers of X12 4010 (code list I05).
ISA_QUALIFIERS = frozenset(
    {"01", "02", "03", "04", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17"}
    | {"18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31"}
    | {"32", "33", "34", "NR", "ZZ"}
)

# The X12 basic character set, less the characters partners commonly use as delimiters.
_ID = r"^[A-Za-z0-9][A-Za-z0-9 .&()/,\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InterchangeIds(_Strict):
    sender_qualifier: str
    sender_id: str = Field(min_length=1, max_length=15, pattern=_ID)
    receiver_qualifier: str
    receiver_id: str = Field(min_length=1, max_length=15, pattern=_ID)
    usage: Literal["P", "T"] = "P"
    acknowledgment_requested: bool = False

    @field_validator("sender_qualifier", "receiver_qualifier")
    @classmethod
    def _qualifier(cls, value: str) -> str:
        if value not in ISA_QUALIFIERS:
            raise ValueError(f"{value!r} is not an ISA id qualifier (01, 08, 12, ZZ, ...)")
        return value

    @field_validator("sender_id", "receiver_id")
    @classmethod
    def _no_trailing_blank(cls, value: str) -> str:
        # The writer pads to 15; a blank kept here would make two spellings of one partner.
        if value != value.rstrip():
            raise ValueError("must not end with a blank (the writer pads it to 15)")
        return value


class GroupCodes(_Strict):
    application_sender: str = Field(min_length=2, max_length=15, pattern=_ID)
    application_receiver: str = Field(min_length=2, max_length=15, pattern=_ID)


class SeparatorsProfile(_Strict):
    element: str = "*"
    component: str = ">"
    segment: str = "~"
    line_break: bool = True

    @model_validator(mode="after")
    def _usable(self) -> SeparatorsProfile:
        try:
            self.separators()
        except X12Error as err:
            raise ValueError(str(err)) from None
        return self

    def separators(self) -> Separators:
        return Separators(
            element=self.element,
            component=self.component,
            segment=self.segment,
            suffix="\n" if self.line_break else "",
        )


class InventoryAdviceSchedule(_Strict):
    #: Minutes between two scheduled 846s (also sent on demand: ``scv edi emit 846``).
    every_minutes: int = Field(ge=5, le=1440)


class Formats(_Strict):
    #: X12 4010 dates (DT) are always CCYYMMDD in the segments written here; ISA09 is YYMMDD.
    date: Literal["CCYYMMDD"] = "CCYYMMDD"
    time: Literal["HHMM", "HHMMSS"] = "HHMM"
    #: The zone the partner reads dates and times in (IANA name).
    time_zone: str = "UTC"
    #: DTM04 time code (``UT``, ``CT``, ``LT``...) written with DTM times; None: none.
    time_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class PartnerProfile(_Strict):
    """One trading partner: envelope, scope, units, schedule and formats."""

    partner_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    name: str = Field(min_length=1, max_length=60)
    interchange: InterchangeIds
    group: GroupCodes
    version: Literal["004010"]
    separators: SeparatorsProfile = SeparatorsProfile()
    documents: frozenset[DocumentType] = Field(min_length=1)
    sites: dict[str, str] = Field(min_length=1)
    items: Literal["all"] | frozenset[str] = "all"
    units: dict[str, str] = Field(min_length=1)
    require_gtin: bool = False
    inventory_advice: InventoryAdviceSchedule | None = None
    formats: Formats = Formats()

    @field_validator("documents", mode="before")
    @classmethod
    def _document_codes(cls, value: Any) -> Any:
        # YAML reads ``[846, 856]`` as numbers; the codes are strings in X12.
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) else v for v in value]
        return value

    @field_validator("sites", mode="before")
    @classmethod
    def _site_ids(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value

    @field_validator("units")
    @classmethod
    def _unit_codes(cls, value: dict[str, str]) -> dict[str, str]:
        for canonical, code in value.items():
            if not (len(code) == 2 and code.isalnum() and code.isupper()):
                raise ValueError(f"{canonical}: {code!r} is not a two-letter X12 unit code")
        return value

    @model_validator(mode="after")
    def _schedule_for_846(self) -> PartnerProfile:
        if "846" in self.documents and self.inventory_advice is None:
            raise ValueError("846 is enabled but inventory_advice (its schedule) is missing")
        return self

    @model_validator(mode="after")
    def _ids_clear_of_separators(self) -> PartnerProfile:
        sep = self.separators
        delimiters = {sep.element, sep.component, sep.segment}
        for value in (
            self.interchange.sender_id,
            self.interchange.receiver_id,
            self.group.application_sender,
            self.group.application_receiver,
        ):
            if delimiters & set(value):
                raise ValueError(f"id {value!r} holds one of the separators {sorted(delimiters)}")
        return self

    # --- what the builders ask ------------------------------------------------------------

    def envelope(self) -> Envelope:
        ids = self.interchange
        return Envelope(
            sender_qualifier=ids.sender_qualifier,
            sender_id=ids.sender_id,
            receiver_qualifier=ids.receiver_qualifier,
            receiver_id=ids.receiver_id,
            application_sender=self.group.application_sender,
            application_receiver=self.group.application_receiver,
            usage=ids.usage,
            acknowledgment_requested=ids.acknowledgment_requested,
            separators=self.separators.separators(),
        )

    def covers_site(self, site_id: str | None) -> bool:
        return site_id is not None and site_id in self.sites

    def covers_item(self, item_id: str) -> bool:
        return self.items == "all" or item_id in self.items

    def require_document(self, document: DocumentType) -> None:
        if document not in self.documents:
            raise DocumentRejected(
                "document_not_enabled", f"{self.partner_id} does not receive the {document}"
            )

    def require_site(self, site_id: str | None) -> str:
        if site_id is None or site_id not in self.sites:
            raise DocumentRejected(
                "site_out_of_scope", f"site {site_id!r} is not in {self.partner_id}'s sites"
            )
        return site_id

    def require_item(self, item_id: str) -> None:
        if not self.covers_item(item_id):
            raise DocumentRejected(
                "item_out_of_scope", f"item {item_id!r} is not in {self.partner_id}'s items"
            )

    def unit(self, uom: str | None) -> str:
        """The X12 unit code of a canonical unit; a unit the profile does not map is refused."""
        if uom is None or uom not in self.units:
            raise DocumentRejected(
                "unknown_unit", f"unit {uom!r} has no X12 code in {self.partner_id}'s profile"
            )
        return self.units[uom]

    def gtin(self, item_id: str, gtin: str | None) -> str | None:
        if gtin is None and self.require_gtin:
            raise DocumentRejected(
                "missing_gtin", f"item {item_id!r} has no GTIN and {self.partner_id} needs one"
            )
        return gtin

    def local(self, at: datetime) -> datetime:
        """``at`` in the partner's time zone (``at`` must be timezone-aware)."""
        if at.tzinfo is None:
            raise ValueError("document times must be timezone-aware")
        return at.astimezone(ZoneInfo(self.formats.time_zone))

    def date(self, at: datetime) -> str:
        return self.local(at).strftime("%Y%m%d")

    def time(self, at: datetime) -> str:
        return self.local(at).strftime("%H%M%S" if self.formats.time == "HHMMSS" else "%H%M")


def load_partner(path: Path) -> PartnerProfile:
    """One profile file, validated; a bad file raises ``ProfileError`` with one line."""
    profile, problem = _load(path)
    if profile is None:
        raise ProfileError([problem or f"{path}: invalid"])
    return profile


def load_partners(directory: Path = PARTNERS_DIR) -> dict[str, PartnerProfile]:
    """Every ``*.yaml`` profile of ``directory`` by partner id; one error line per bad file."""
    if not directory.is_dir():
        raise ProfileError([f"{directory}: no such directory of partner profiles"])
    profiles: dict[str, PartnerProfile] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        profile, problem = _load(path)
        if profile is not None:
            profiles[profile.partner_id] = profile
        else:
            problems.append(problem or f"{path}: invalid")
    if problems:
        raise ProfileError(problems)
    return profiles


def _load(path: Path) -> tuple[PartnerProfile | None, str | None]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        return None, f"{path}: cannot be read ({err.strerror or err})"
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return None, f"{path}: not YAML{where}"
    if not isinstance(data, dict):
        return None, f"{path}: a profile is a mapping of keys, not {type(data).__name__}"
    try:
        profile = PartnerProfile.model_validate(data)
    except ValidationError as err:
        return None, f"{path}: " + "; ".join(_describe(e) for e in err.errors())
    if profile.partner_id != path.stem:
        return None, f"{path}: partner_id {profile.partner_id!r} must be the file's name"
    return profile, None


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(profile)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"
