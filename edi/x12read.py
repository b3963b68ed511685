"""A small X12 reader: interchanges → groups → transaction sets → segments → elements.

The separators are the ones the ISA declares (element: the character after ``ISA``; component:
ISA16; segment terminator: the character after ISA16), whitespace around a terminator (line
breaks) is ignored, and the envelope is checked as a partner's translator checks it before
reading a document: SE01 counts the set's segments, SE02 = ST02, GE01 counts the sets, GE02 =
GS06, IEA01 counts the groups, IEA02 = ISA13. Anything else raises ``X12ReadError`` with one
line saying where. Elements are kept as strings (a composite keeps its component separator;
``ReadInterchange.component`` splits it). Pure: bytes in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass

from edi.errors import X12ReadError

#: One segment: its tag, then its elements from position 01.
Seg = tuple[str, ...]

_ISA_LENGTH = 106  # through the segment terminator


@dataclass(frozen=True, slots=True)
class ReadSet:
    code: str
    control: str
    #: The segments between ST and SE (both left out).
    segments: tuple[Seg, ...]


@dataclass(frozen=True, slots=True)
class ReadGroup:
    functional_id: str
    control: str
    sets: tuple[ReadSet, ...]


@dataclass(frozen=True, slots=True)
class ReadInterchange:
    sender: str
    receiver: str
    control: str
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    element: str
    component: str
    groups: tuple[ReadGroup, ...]

    @property
    def sets(self) -> tuple[ReadSet, ...]:
        return tuple(s for g in self.groups for s in g.sets)


def read_interchanges(data: bytes) -> list[ReadInterchange]:
    """Every interchange of a file, in order; at least one."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as err:
        raise X12ReadError(f"not ASCII text (byte {err.start})") from None
    text = text.lstrip()
    if not text.startswith("ISA") or len(text) < _ISA_LENGTH:
        raise X12ReadError("does not start with an ISA segment")
    element, component, terminator = text[3], text[104], text[105]
    if len({element, component, terminator}) != 3 or element.isalnum():
        raise X12ReadError("the ISA does not declare three distinct separators")
    segments = [s.strip() for s in text.split(terminator)]
    if segments and segments[-1] == "":
        segments.pop()
    reader = _Reader(element, component)
    for n, raw in enumerate(segments, start=1):
        if not raw:
            raise X12ReadError(f"segment {n} is empty")
        reader.take(tuple(raw.split(element)), n)
    return reader.finish()


class _Reader:
    def __init__(self, element: str, component: str) -> None:
        self.element = element
        self.component = component
        self.done: list[ReadInterchange] = []
        self.isa: Seg | None = None
        self.groups: list[ReadGroup] = []
        self.gs: Seg | None = None
        self.sets: list[ReadSet] = []
        self.st: Seg | None = None
        self.body: list[Seg] = []

    def take(self, seg: Seg, n: int) -> None:
        tag = seg[0]
        where = f"segment {n} ({tag})"
        if tag == "ISA":
            if self.isa is not None:
                raise X12ReadError(f"{where}: ISA before the IEA of the previous interchange")
            if len(seg) != 17:
                raise X12ReadError(f"{where}: an ISA has 16 elements, not {len(seg) - 1}")
            self.isa = seg
        elif self.isa is None:
            raise X12ReadError(f"{where}: outside an interchange")
        elif tag == "GS":
            if self.gs is not None:
                raise X12ReadError(f"{where}: GS before the GE of the previous group")
            self.gs = seg
        elif tag == "GE":
            self._end_group(seg, where)
        elif tag == "IEA":
            self._end_interchange(seg, where)
        elif self.gs is None:
            raise X12ReadError(f"{where}: outside a functional group")
        elif tag == "ST":
            if self.st is not None:
                raise X12ReadError(f"{where}: ST before the SE of the previous set")
            self.st = seg
        elif tag == "SE":
            self._end_set(seg, where)
        elif self.st is None:
            raise X12ReadError(f"{where}: outside a transaction set")
        else:
            self.body.append(seg)

    def _end_set(self, se: Seg, where: str) -> None:
        if self.st is None:
            raise X12ReadError(f"{where}: SE without ST")
        control = _at(self.st, 2, where)
        count = len(self.body) + 2
        if _at(se, 1, where) != str(count):
            raise X12ReadError(f"{where}: SE01 says {se[1]} segments, the set has {count}")
        if _at(se, 2, where) != control:
            raise X12ReadError(f"{where}: SE02 {se[2]} does not match ST02 {control}")
        self.sets.append(ReadSet(_at(self.st, 1, where), control, tuple(self.body)))
        self.st, self.body = None, []

    def _end_group(self, ge: Seg, where: str) -> None:
        if self.gs is None or self.st is not None:
            raise X12ReadError(f"{where}: GE without GS, or inside a transaction set")
        if _at(ge, 1, where) != str(len(self.sets)):
            raise X12ReadError(f"{where}: GE01 says {ge[1]} sets, the group has {len(self.sets)}")
        if _at(ge, 2, where) != _at(self.gs, 6, where):
            raise X12ReadError(f"{where}: GE02 {ge[2]} does not match GS06 {self.gs[6]}")
        self.groups.append(ReadGroup(_at(self.gs, 1, where), self.gs[6], tuple(self.sets)))
        self.gs, self.sets = None, []

    def _end_interchange(self, iea: Seg, where: str) -> None:
        assert self.isa is not None
        if self.gs is not None:
            raise X12ReadError(f"{where}: IEA inside a functional group")
        if _at(iea, 1, where) != str(len(self.groups)):
            raise X12ReadError(f"{where}: IEA01 says {iea[1]} groups, found {len(self.groups)}")
        if _at(iea, 2, where) != self.isa[13]:
            raise X12ReadError(f"{where}: IEA02 {iea[2]} does not match ISA13 {self.isa[13]}")
        self.done.append(
            ReadInterchange(
                sender=self.isa[6].strip(),
                receiver=self.isa[8].strip(),
                control=self.isa[13],
                date=self.isa[9],
                time=self.isa[10],
                element=self.element,
                component=self.component,
                groups=tuple(self.groups),
            )
        )
        self.isa, self.groups = None, []

    def finish(self) -> list[ReadInterchange]:
        if self.isa is not None:
            raise X12ReadError("the last interchange has no IEA")
        return self.done


def _at(seg: Seg, position: int, where: str) -> str:
    if len(seg) <= position:
        raise X12ReadError(f"{where}: element {position:02d} is missing")
    return seg[position]


def element(seg: Seg, position: int) -> str:
    """Element ``position`` (01 = the first after the tag), ``""`` when the segment is shorter."""
    return seg[position] if len(seg) > position else ""
