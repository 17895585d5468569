"""The codebook: categories of priority (responses) and threat (external factors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["priority", "threat"]


@dataclass(frozen=True)
class Example:
    text: str
    lang: str = "en"


@dataclass(frozen=True)
class Category:
    id: str
    kind: Kind
    label: str
    definition: str
    code: str = ""  # a short code for tables and coding guides (MIL, T_RU); optional
    marpor: tuple[str, ...] = ()
    cap: tuple[str, ...] = ()
    patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lang ("all") -> patterns
    positive: tuple[Example, ...] = ()
    negative: tuple[Example, ...] = ()
    heldout_positive: tuple[Example, ...] = ()
    heldout_negative: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Codebook:
    name: str
    version: str
    categories: tuple[Category, ...]
    description: str = ""
    sha256: str = ""  # of the source file's bytes: recorded with every run
    path: str = ""
    # phrases blanked before matching, per language: titles and names of bodies are not
    # topics ("Minister of Energy", "Ministry of Foreign Affairs and Trade")
    ignore: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def ids(self, kind: Kind | None = None) -> list[str]:
        return [c.id for c in self.categories if kind is None or c.kind == kind]

    def get(self, category_id: str) -> Category:
        for c in self.categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    def codes(self) -> dict[str, str]:
        """Short code -> category id, for the categories that have a code."""
        return {c.code: c.id for c in self.categories if c.code}
