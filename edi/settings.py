"""Settings of the EDI stage: one frozen object, built once by the CLI and passed down.

Every field can be set from the environment with the ``SCV_EDI_`` prefix (nested with
``__``). The document builders and the EPCIS export take what they need from it as plain
values (``gs1()``), never the settings object itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from edi.epcis import Gs1Identity
from edi.profile import PARTNERS_DIR


class EdiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCV_EDI_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    #: The directory of the partner profiles (``*.yaml``, one per partner).
    partners_dir: Path = PARTNERS_DIR
    #: GS1 company prefix of the goods owner (the simulator's keys use GS1's example prefix).
    gs1_company_prefix: str = Field(default="0614141", pattern=r"^\d{6,11}$")
    #: Site id → GLN location reference, where a site's id is not its location reference.
    gs1_site_locations: dict[str, str] = Field(default_factory=dict)
    #: URI prefix naming the class of an item without a GTIN (None: such events are rejected).
    gs1_item_class_fallback: str | None = None
    #: Canonical unit → UN/ECE Rec 20 code, for variable-measure units only (``KG: KGM``).
    gs1_measure_units: dict[str, str] = Field(default_factory=lambda: {"KG": "KGM"})

    def gs1(self) -> Gs1Identity:
        return Gs1Identity(
            company_prefix=self.gs1_company_prefix,
            site_locations=dict(self.gs1_site_locations),
            item_class_fallback=self.gs1_item_class_fallback,
            measure_units=dict(self.gs1_measure_units),
        )
