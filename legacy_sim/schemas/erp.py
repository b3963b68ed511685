"""The legacy ERP: JD Edwards EnterpriseOne-style tables in PostgreSQL schema ``proddta``.

Quirks are deliberate (research §1.1, §3.1): lower-case JDE names with the table's two-letter
prefix, CHAR(n) with trailing blanks, business units right-justified in CHAR(12), dates as
``CYYDDD`` NUMERIC(6) (0 = none) and times as ``HHMMSS`` NUMERIC(6) in branch-local time,
quantities/amounts as NUMERIC(15) integers with implied decimals (see ``quirks.ERP_DECIMALS``),
composite document keys with no surrogate id, LTTR/NXTR status pairs, and the audit block
(``user, pid, jobn, upmj, tday``) at the end of every table.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped

from legacy_sim.schemas._columns import jchar, jnum

ERP_SCHEMA = "proddta"


class ErpBase(DeclarativeBase):
    metadata = MetaData(schema=ERP_SCHEMA)


class F0006(ErpBase):
    """Business unit master, cut down to what the pipeline needs: the branch's IANA zone.

    Real JDE has no zone column; shops keep it in a custom column or a side table. Static seed
    data, not captured.
    """

    __tablename__ = "f0006"

    mcmcu: Mapped[str] = jchar(12, pk=True)
    mcstyl: Mapped[str] = jchar(2)  # BU type: 'BP' branch/plant
    mcdl01: Mapped[str] = jchar(30)
    mcco: Mapped[str] = jchar(5)
    mctzid: Mapped[str] = jchar(40)  # IANA time zone, e.g. 'America/Chicago'
    mcuser: Mapped[str] = jchar(10)
    mcpid: Mapped[str] = jchar(10)
    mcjobn: Mapped[str] = jchar(10)
    mcupmj: Mapped[Decimal] = jnum(6)
    mctday: Mapped[Decimal] = jnum(6)


class F4101(ErpBase):
    """Item master. Cold chain is flagged the JDE way: category code ``imsrp5 = 'CC '``."""

    __tablename__ = "f4101"

    imitm: Mapped[Decimal] = jnum(8, pk=True)  # short item number (the join key)
    imlitm: Mapped[str] = jchar(25)  # 2nd item number: the SKU users see
    imaitm: Mapped[str] = jchar(25)  # 3rd item number: GTIN-14, blank for ~3% of items
    imdsc1: Mapped[str] = jchar(30)
    imstkt: Mapped[str] = jchar(1)  # stocking type 'S'
    imuom1: Mapped[str] = jchar(2)  # primary UoM
    imuom3: Mapped[str] = jchar(2)  # purchasing UoM
    imuom4: Mapped[str] = jchar(2)  # pricing UoM
    imsrp1: Mapped[str] = jchar(3)
    imsrp2: Mapped[str] = jchar(3)
    imsrp3: Mapped[str] = jchar(3)
    imsrp4: Mapped[str] = jchar(3)
    imsrp5: Mapped[str] = jchar(3)  # 'CC ' = cold chain (2-8 °C)
    imsrce: Mapped[str] = jchar(1)  # lot process type: '1' lot-controlled, ' ' not
    imsld: Mapped[Decimal] = jnum(5)  # shelf-life days
    imuser: Mapped[str] = jchar(10)
    impid: Mapped[str] = jchar(10)
    imjobn: Mapped[str] = jchar(10)
    imupmj: Mapped[Decimal] = jnum(6)
    imtday: Mapped[Decimal] = jnum(6)


class F41002(ErpBase):
    """Item UoM conversions. ``ummcu`` blank = all branches; factors x10^7; chains PL→CA→EA."""

    __tablename__ = "f41002"

    ummcu: Mapped[str] = jchar(12, pk=True)
    umitm: Mapped[Decimal] = jnum(8, pk=True)
    umum: Mapped[str] = jchar(2, pk=True)  # from UoM
    umrum: Mapped[str] = jchar(2, pk=True)  # to UoM
    umconv: Mapped[Decimal] = jnum(15)  # umum → umrum, x10^7
    umcnv1: Mapped[Decimal] = jnum(15)  # umum → primary UoM, x10^7
    umuser: Mapped[str] = jchar(10)
    umpid: Mapped[str] = jchar(10)
    umjobn: Mapped[str] = jchar(10)
    umupmj: Mapped[Decimal] = jnum(6)
    umtday: Mapped[Decimal] = jnum(6)


class F41021(ErpBase):
    """Item location balances in the primary UoM x100. One row per item x branch x loc x lot.

    The WMS owns bins and lots, so the ERP books each item x branch at the blank location and
    blank lot (the usual JDE + external WMS setup). Buckets move as: order entry ``pcom``+,
    pick slip ``pcom``→``hcom``, ship confirm ``hcom``- and ``pqoh``-, PO ``preq``+, receipt
    ``preq``- and ``pqoh``+.
    """

    __tablename__ = "f41021"

    liitm: Mapped[Decimal] = jnum(8, pk=True)
    limcu: Mapped[str] = jchar(12, pk=True)
    lilocn: Mapped[str] = jchar(20, pk=True)
    lilotn: Mapped[str] = jchar(30, pk=True)
    lipbin: Mapped[str] = jchar(1)  # 'P' primary / 'S' secondary
    lilots: Mapped[str] = jchar(1)  # lot status: non-blank = on hold
    lipqoh: Mapped[Decimal] = jnum(15)  # on hand
    lipcom: Mapped[Decimal] = jnum(15)  # soft committed
    lihcom: Mapped[Decimal] = jnum(15)  # hard committed
    lifcom: Mapped[Decimal] = jnum(15)  # future committed
    lipreq: Mapped[Decimal] = jnum(15)  # on purchase order
    liqttr: Mapped[Decimal] = jnum(15)  # in transit
    liqtin: Mapped[Decimal] = jnum(15)  # in inspection
    lilrcj: Mapped[Decimal] = jnum(6)  # last receipt date
    liuser: Mapped[str] = jchar(10)
    lipid: Mapped[str] = jchar(10)
    lijobn: Mapped[str] = jchar(10)
    liupmj: Mapped[Decimal] = jnum(6)
    litday: Mapped[Decimal] = jnum(6)


class _SalesDetail:
    """F4211 and its archive F42119 share the ``SD`` columns, as in JDE."""

    sdkcoo: Mapped[str] = jchar(5, pk=True)  # order company '00020'
    sddoco: Mapped[Decimal] = jnum(8, pk=True)
    sddcto: Mapped[str] = jchar(2, pk=True)  # 'SO'
    sdlnid: Mapped[Decimal] = jnum(7, pk=True)  # line x1000: 1000 = line 1.000
    sdmcu: Mapped[str] = jchar(12)  # right-justified
    sdan8: Mapped[Decimal] = jnum(8)  # sold-to
    sdshan: Mapped[Decimal] = jnum(8)  # ship-to
    sdvr01: Mapped[str] = jchar(25)  # customer PO
    sditm: Mapped[Decimal] = jnum(8)
    sdlitm: Mapped[str] = jchar(25)
    sdaitm: Mapped[str] = jchar(25)
    sdlocn: Mapped[str] = jchar(20)
    sdlotn: Mapped[str] = jchar(30)
    sdlnty: Mapped[str] = jchar(2)  # line type 'S'
    sduom: Mapped[str] = jchar(2)  # transaction UoM
    sduorg: Mapped[Decimal] = jnum(15)  # ordered x100 (transaction UoM)
    sdsoqs: Mapped[Decimal] = jnum(15)  # shipped x100
    sdsobk: Mapped[Decimal] = jnum(15)  # backordered x100
    sdsocn: Mapped[Decimal] = jnum(15)  # cancelled x100
    sduprc: Mapped[Decimal] = jnum(15)  # unit price, currency decimals + 2
    sdaexp: Mapped[Decimal] = jnum(15)  # extended amount, currency decimals
    sdcrcd: Mapped[str] = jchar(3)
    sdtrdj: Mapped[Decimal] = jnum(6)  # order date
    sddrqj: Mapped[Decimal] = jnum(6)  # requested
    sdppdj: Mapped[Decimal] = jnum(6)  # promised ship
    sdrsdj: Mapped[Decimal] = jnum(6)  # promised delivery
    sdaddj: Mapped[Decimal] = jnum(6)  # actual ship
    sdivd: Mapped[Decimal] = jnum(6)  # invoice date
    sdlttr: Mapped[str] = jchar(3)  # last status
    sdnxtr: Mapped[str] = jchar(3)  # next status
    sduser: Mapped[str] = jchar(10)
    sdpid: Mapped[str] = jchar(10)
    sdjobn: Mapped[str] = jchar(10)
    sdupmj: Mapped[Decimal] = jnum(6)
    sdtday: Mapped[Decimal] = jnum(6)


class F4211(_SalesDetail, ErpBase):
    """Sales order detail. Status pairs 520→540→560→620→999 (980 = cancelled)."""

    __tablename__ = "f4211"


class F42119(_SalesDetail, ErpBase):
    """Sales order history: the purge moves 999 lines here (DELETE on f4211 + INSERT here)."""

    __tablename__ = "f42119"


class F4311(ErpBase):
    """Purchase order detail. Status pairs 220→280→400→999; ``pdpddj`` = promised date."""

    __tablename__ = "f4311"

    pdkcoo: Mapped[str] = jchar(5, pk=True)
    pddoco: Mapped[Decimal] = jnum(8, pk=True)
    pddcto: Mapped[str] = jchar(2, pk=True)  # 'OP'
    pdsfxo: Mapped[str] = jchar(3, pk=True)  # '000'
    pdlnid: Mapped[Decimal] = jnum(7, pk=True)
    pdmcu: Mapped[str] = jchar(12)
    pdan8: Mapped[Decimal] = jnum(8)  # supplier
    pditm: Mapped[Decimal] = jnum(8)
    pdlitm: Mapped[str] = jchar(25)
    pdaitm: Mapped[str] = jchar(25)
    pduom: Mapped[str] = jchar(2)
    pduorg: Mapped[Decimal] = jnum(15)  # ordered x100 (transaction UoM)
    pdurec: Mapped[Decimal] = jnum(15)  # received x100
    pduopn: Mapped[Decimal] = jnum(15)  # open x100
    pdprrc: Mapped[Decimal] = jnum(15)  # unit cost, currency decimals + 2
    pdaexp: Mapped[Decimal] = jnum(15)  # extended, currency decimals
    pdcrcd: Mapped[str] = jchar(3)
    pdtrdj: Mapped[Decimal] = jnum(6)  # order date
    pddrqj: Mapped[Decimal] = jnum(6)  # requested
    pdpddj: Mapped[Decimal] = jnum(6)  # promised (supplier acknowledgement)
    pdlttr: Mapped[str] = jchar(3)
    pdnxtr: Mapped[str] = jchar(3)
    pduser: Mapped[str] = jchar(10)
    pdpid: Mapped[str] = jchar(10)
    pdjobn: Mapped[str] = jchar(10)
    pdupmj: Mapped[Decimal] = jnum(6)
    pdtday: Mapped[Decimal] = jnum(6)


class F43121(ErpBase):
    """PO receiver. ``prmatc`` 1 = receipt, 4 = receipt reversal; it is part of the key, so
    a reversal (1 → 4) is a primary-key-changing UPDATE (DELETE + CREATE under CDC)."""

    __tablename__ = "f43121"

    prmatc: Mapped[str] = jchar(1, pk=True)
    prkcoo: Mapped[str] = jchar(5, pk=True)
    prdoco: Mapped[Decimal] = jnum(8, pk=True)
    prdcto: Mapped[str] = jchar(2, pk=True)
    prsfxo: Mapped[str] = jchar(3, pk=True)
    prlnid: Mapped[Decimal] = jnum(7, pk=True)
    prnlin: Mapped[Decimal] = jnum(7, pk=True)  # receipt sequence on the line
    prdoc: Mapped[Decimal] = jnum(8, pk=True)  # receipt document number
    prdct: Mapped[str] = jchar(2)  # 'OV'
    pran8: Mapped[Decimal] = jnum(8)
    pritm: Mapped[Decimal] = jnum(8)
    prlitm: Mapped[str] = jchar(25)
    prmcu: Mapped[str] = jchar(12)
    prlocn: Mapped[str] = jchar(20)
    prlotn: Mapped[str] = jchar(30)
    pruom: Mapped[str] = jchar(2)
    pruorg: Mapped[Decimal] = jnum(15)
    prurec: Mapped[Decimal] = jnum(15)  # received x100 (transaction UoM)
    pruopn: Mapped[Decimal] = jnum(15)
    prprrc: Mapped[Decimal] = jnum(15)
    praexp: Mapped[Decimal] = jnum(15)
    prcrcd: Mapped[str] = jchar(3)
    prrcdj: Mapped[Decimal] = jnum(6)  # receipt date (no time: prtday)
    prdgl: Mapped[Decimal] = jnum(6)  # GL date
    prlttr: Mapped[str] = jchar(3)
    prnxtr: Mapped[str] = jchar(3)
    pruser: Mapped[str] = jchar(10)
    prpid: Mapped[str] = jchar(10)
    prjobn: Mapped[str] = jchar(10)
    prupmj: Mapped[Decimal] = jnum(6)
    prtday: Mapped[Decimal] = jnum(6)
