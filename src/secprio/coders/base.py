"""The contract every coder follows: optional ``fit``, then ``code(units) -> codings``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


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


@runtime_checkable
class Coder(Protocol):
    name: str
    version: str

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]: ...
