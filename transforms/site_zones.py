"""Site → IANA time zone, from the ERP's business-unit master F0006.

ERP dates and times are branch-local (CYYDDD and HHMMSS without an offset), so the mappers need
each site's zone (``TransformsSettings.site_zones``). F0006 is static seed data that is not
captured: it is read once, read-only, when a runner or a replay starts. Zones set in the
environment (``SCV_TRANSFORMS_SITE_ZONES``) win per site.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from transforms.errors import SiteZonesUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from transforms.settings import TransformsSettings

QUERY = "SELECT mcmcu, mctzid FROM proddta.f0006"


def zones_from_rows(rows: Iterable[Sequence[object]]) -> dict[str, str]:
    """Trimmed business unit → trimmed zone, for the rows of ``QUERY`` that name a zone."""
    return {str(mcu).strip(): str(tz).strip() for mcu, tz in rows if str(tz).strip()}


def read_site_zones(erp: str | Engine) -> dict[str, str]:
    """The zones of F0006, from a SQLAlchemy URL (an engine of its own, disposed) or an engine.

    Raises ``SiteZonesUnavailable`` when the ERP cannot be read (the error's code, never the
    URL, in the message).
    """
    import sqlalchemy

    engine = None
    try:
        engine = sqlalchemy.create_engine(erp) if isinstance(erp, str) else erp
        with engine.connect() as connection:
            return zones_from_rows(connection.execute(sqlalchemy.text(QUERY)))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SiteZonesUnavailable(f"site zones not read from the ERP F0006 ({exc.code})") from None
    finally:
        if engine is not None and isinstance(erp, str):
            engine.dispose()


def with_site_zones(settings: TransformsSettings, zones: dict[str, str]) -> TransformsSettings:
    """``settings`` with ``zones`` beneath the zones it already has (those win per site)."""
    return settings.model_copy(update={"site_zones": {**zones, **settings.site_zones}})
