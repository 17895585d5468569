"""The Python API of the analyses: one function per analysis, each returning a DataFrame.

Every function takes a project (a ``Project`` or the path of a project folder) and keyword
options, and computes from the store's effective codings (human decisions win)::

    from secprio import api
    api.table1("mystudy")                          # the Table 1 view
    api.grid("mystudy", by="year")                 # year × priority grid
    api.window("mystudy", event="karabakh-war-2020", before="2y", after="2y")

The functions are made from the analysis registry (``secprio.analyses``), which also makes
the CLI's analysis commands and the report's analysis sections, so the three agree (a test
checks it for every analysis). ``api.names()`` lists them, an installed plugin's included;
``help(api.NAME)`` gives an analysis's options. See ``docs/analyses.md`` for what each
computes and how to read it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from secprio.analyses.links import with_passages
from secprio.analyses.registry import REGISTRY, Data
from secprio.project import Project

ProjectLike = Project | str | Path


def names() -> list[str]:
    """The analyses ``api`` has a function for (secprio's and the installed plugins')."""
    return list(REGISTRY)


def __getattr__(name: str) -> Callable[..., pd.DataFrame]:
    if not name.startswith("_") and name in REGISTRY:
        return REGISTRY[name].api
    raise AttributeError(f"module 'secprio.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *REGISTRY])


def claim_check(
    project: ProjectLike,
    *,
    file: Path | str | None = None,
    semantic: bool = True,
    coder: str | None = None,
    sentences: pd.DataFrame | None = None,
    codings: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``claims`` and ``claim_passages`` in one pass. ``sentences`` (with text) and
    ``codings``: the project's, when the caller has them already."""
    from secprio.analyses.claims import claim_check as check

    data = Data.of(project, coder=coder, sentences=sentences, codings=codings)
    return check(data, file, semantic)


def export_parquet(
    project: ProjectLike, folder: Path | str, *, coder: str | None = None
) -> pd.DataFrame:
    """Write every table of the store and the sentence × category codings (of ``coder``,
    default the project's) as Parquet files into ``folder``; one row per file written."""
    from secprio.exchange import parquet

    p = project if isinstance(project, Project) else Project.open(project)
    written = parquet.export(p, folder, coder=coder)
    out = Path(folder)
    return pd.DataFrame(
        [{"table": k, "rows": n, "path": str(out / f"{k}.parquet")} for k, n in written.items()]
    )


__all__ = ["ProjectLike", "claim_check", "export_parquet", "names", "with_passages"]
