"""The data every stage shares, in one place: what ingest produces (``Document`` with its
``Metadata`` and ``Segment``s, or a ``Skipped`` file and why), what a coder reads (``Unit``)
and what it writes (``Coding``). Plain frozen dataclasses that depend on nothing else in
secprio, so the store, the coders, ingest and the exchange formats meet here and not in
each other (the tables they are stored in: ``store/schema.py``; ARCHITECTURE.md, "Data
model")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

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


@dataclass(frozen=True)
class Document:
    path: str
    sha256: str  # of the file's bytes: re-ingesting an unchanged file does nothing
    text: str  # NFC text as displayed; offsets refer to it
    meta: Metadata
    segments: tuple[Segment, ...] = ()

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
