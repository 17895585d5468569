"""An adjudicated assignment becomes the project's gold file (merged with any gold it had)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from secprio.exchange.gold import COLUMNS, locate, project_documents, read, write
from secprio.web.workspace import Workspace

GOLD_FILE = "gold.csv"


def write_gold(
    ws: Workspace,
    a: dict[str, Any],
    final: dict[int, frozenset[str]],
    labels: dict[str, dict[int, frozenset[str]]],
) -> Path:
    """Rows of the adjudicated result (coder ``adjudicated``, the reference coder, first) and
    of every coder of the assignment, so validation can also report their agreement."""
    from secprio.web.team import ADJUDICATOR

    sents = {s["id"]: s for s in ws.store.sentences_of(list(final))}
    rows = []
    for coder, decided in [(ADJUDICATOR, final)] + [(c, labels[c]) for c in a["coders"]]:
        for seg, cats in decided.items():
            s = sents.get(seg)
            if s is None:
                continue
            text = " ".join(s["text"].split())
            for cat in sorted(cats) or [""]:
                rows.append(
                    {
                        "unit": f"seg:{seg}",
                        "text": text,
                        "lang": s["language"],
                        "category": cat,
                        "coder": coder,
                        "line": 0,
                    }
                )
    new = pd.DataFrame(rows, columns=COLUMNS)
    old_path = locate(ws.project)
    if old_path is not None:
        old = read(old_path, categories=ws.categories, documents=project_documents(ws.project)).rows
        new = pd.concat([new, old[~old["unit"].isin(set(new["unit"]))]], ignore_index=True)
    return write(new, ws.project.root / GOLD_FILE)
