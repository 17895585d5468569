"""The data every stage shares, in one place: what ingest produces (``Document`` with its
``Metadata`` and ``Segment``s, or a ``Skipped`` file and why), what a coder reads (``Unit``)
and what it writes (``Coding``). Plain frozen dataclasses that depend on nothing else in
secprio, so the store, the coders, ingest and the exchange formats meet here and not in
each other (the tables they are stored in: ``store/schema.py``; ARCHITECTURE.md, "Data
model")."""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Literal, overload

DOC_TYPES = ("declaration", "agreement", "statement", "strategy", "speech", "news", "analysis")
SegmentKind = Literal["paragraph", "sentence"]


@dataclass(frozen=True)
class Metadata:
    title: str = ""
    date: dt.date | None = None
    doc_type: str = "analysis"
    issuer: str = ""
    members: tuple[str, ...] = ()
    language: str = ""
    url: str = ""
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """A paragraph or a sentence; start/end are character offsets into Document.text."""

    kind: SegmentKind
    index: int  # position among segments of the same kind in the document
    start: int
    end: int
    paragraph: int  # index of the enclosing paragraph (its own index for a paragraph)


KINDS: tuple[SegmentKind, SegmentKind] = ("paragraph", "sentence")


class Segments(Sequence[Segment]):
    """A document's segments as one array of integers, five per segment (kind as its index in
    ``KINDS``, index, start, end, paragraph): what ingest makes, hands from its reader
    processes to the one that writes the store, and stores, with no Python object per
    segment on the way. A ``Segment`` is made when one is read; equal to the tuple of the
    same segments."""

    __slots__ = ("_data",)
    WIDTH = 5

    def __init__(self, data: Sequence[int] = ()) -> None:
        self._data = data if isinstance(data, array) else array("q", data)
        if len(self._data) % self.WIDTH:
            raise ValueError("segment data must hold five integers per segment")

    def __len__(self) -> int:
        return len(self._data) // self.WIDTH

    @overload
    def __getitem__(self, i: int) -> Segment: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Segment, ...]: ...
    def __getitem__(self, i: int | slice) -> Segment | tuple[Segment, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("segment index out of range")
        k, index, start, end, paragraph = self._data[i * 5 : i * 5 + 5]
        return Segment(KINDS[k], index, start, end, paragraph)

    def __iter__(self) -> Iterator[Segment]:
        d = self._data
        for k, index, start, end, paragraph in zip(
            d[0::5], d[1::5], d[2::5], d[3::5], d[4::5], strict=True
        ):
            yield Segment(KINDS[k], index, start, end, paragraph)

    def rows(self, document: object) -> list[tuple[Any, ...]]:
        """``(document, kind, index, start, end, paragraph)`` per segment, made from the
        columns (the store's rows), no ``Segment`` on the way."""
        d = self._data
        kinds = [KINDS[k] for k in d[0::5]]
        return list(zip(repeat(document), kinds, d[1::5], d[2::5], d[3::5], d[4::5]))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Segments):
            return self._data == other._data
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Segments({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return Segments, (self._data,)


@dataclass(frozen=True)
class Document:
    path: str
    sha256: str  # of the file's bytes: re-ingesting an unchanged file does nothing
    text: str  # NFC text as displayed; offsets refer to it
    meta: Metadata
    segments: Sequence[Segment] = ()  # ingest's are Segments

    def sentences(self) -> list[Segment]:
        return [s for s in self.segments if s.kind == "sentence"]

    def slice(self, seg: Segment) -> str:
        return self.text[seg.start : seg.end]


@dataclass(frozen=True)
class Skipped:
    """A file that could not be read, and why: listed in the report, never silently lost."""

    path: str
    reason: str


@dataclass(frozen=True)
class Unit:
    """A sentence handed to a coder: its store id, its text, its document's language and the
    key of its document ("": a sentence on its own), for coders that read context."""

    id: int
    text: str
    lang: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Coding:
    """One category applied to one unit, with the evidence a reader can check."""

    unit_id: int
    category: str
    coder: str
    coder_version: str
    confidence: float = 1.0
    pattern: str = ""  # the matched pattern (dictionary) or nearest example (semantic)
    start: int = -1  # span of the evidence in the unit's text, character offsets
    end: int = -1
    value: int = 1  # 1 = applies; 0 = a human rejected it
    evidence: dict[str, object] = field(default_factory=dict)
