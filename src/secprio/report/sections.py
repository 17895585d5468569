"""Report sections: a registry so each analysis contributes its own part of the report.

A section builder takes the report ``Context`` and returns a ``Section`` (or None when it has
nothing to show). Tables returned with a section are written as CSV and JSON beside the HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from secprio.analyses.registry import Data
from secprio.errors import DuplicateName

if TYPE_CHECKING:
    from secprio.project import Project


@dataclass
class Section:
    id: str
    title: str
    html: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, bytes | str] = field(default_factory=dict)  # extra files, e.g. figures


class Context(Data):
    """What every section may read (``Data``, lenient: the report leaves out what it cannot
    show); expensive parts are computed once, on first use, and shared by the sections."""

    def __init__(self, project: Project) -> None:
        super().__init__(project, strict=False)

    @property
    def scores(self) -> pd.DataFrame:
        return self.scored()

    @property
    def scores_by_period(self) -> pd.DataFrame:
        return self.scored(by="period")


Builder = Callable[[Context], Section | None]
BUILDERS: list[tuple[float, Builder]] = []


def register(order: float) -> Callable[[Builder], Builder]:
    """Add a section builder; ``order`` places it in the report (core sections use 0–100).
    A builder is registered once: a module imported twice under two names would otherwise
    put its sections twice in the report."""

    def wrap(builder: Builder) -> Builder:
        name = f"{builder.__module__}.{builder.__qualname__}"
        if any(f"{b.__module__}.{b.__qualname__}" == name for _, b in BUILDERS):
            raise DuplicateName(
                f"the report section {name} is registered twice",
                hint="import the module once, under one name",
                code="E014",
            )
        BUILDERS.append((order, builder))
        return builder

    return wrap


def ordered() -> list[Builder]:
    """Every section builder in report order: those registered here and the sections of the
    analysis registry (secprio.analyses)."""
    from secprio.analyses.registry import REGISTRY

    analyses: list[tuple[float, Builder]] = [
        (a.order, a.section) for a in REGISTRY.values() if a.section is not None
    ]
    return [b for _, b in sorted([*BUILDERS, *analyses], key=lambda ob: ob[0])]
