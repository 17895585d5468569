"""Documents and segments: what ingest produces and every later stage reads."""

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
