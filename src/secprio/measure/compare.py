"""Comparison grids: any metadata field × category (MAXQDA's Code Matrix Browser).

Per cell (group g, category c): ``count`` = sentences of g coded c; ``pct`` = weighted
salience of c in g, in % (the weighted share of g's sentences coded c, as in the scores);
``row_pct`` = c's share of all codings of the grid's kind in g, in %. A list-valued field
(``members``) puts a sentence in the group of every state it lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.errors import MeasureError
from secprio.measure.scores import coded_matrix

GROUPINGS = ("members", "year", "doc_type", "issuer", "language", "period")
UNDATED = "undated"


def group_values(sentences: pd.DataFrame, by: str) -> pd.Series:
    """The group of each sentence as text; lists stay lists (exploded later)."""
    if by not in sentences.columns:
        raise MeasureError(
            f"no metadata field {by!r} to group by", hint=f"use one of: {', '.join(GROUPINGS)}"
        )
    col = sentences[by]
    if by == "year":
        return col.map(lambda y: UNDATED if pd.isna(y) else str(int(y)))
    if col.map(lambda v: isinstance(v, list | tuple)).any():
        return col.map(lambda v: list(v) if isinstance(v, list | tuple) else [v])
    return col.fillna("").astype(str)


def grid(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    by: str = "members",
    kind: str = "priority",
) -> pd.DataFrame:
    """Long table: one row per (group, category) with count, pct and row_pct."""
    cats = codebook.ids(kind)  # type: ignore[arg-type]
    if not cats:
        raise MeasureError(
            f"the codebook has no {kind} categories",
            path=codebook.path,
            hint="use kind priority or threat",
        )
    coded = coded_matrix(sentences, codings, cats)
    frame = pd.DataFrame(coded, columns=cats)
    frame["_w"] = sentences["weight"].to_numpy(dtype=float)
    frame["_group"] = group_values(sentences, by).to_numpy()
    frame = frame.explode("_group").dropna(subset=["_group"])
    weighted = frame[cats].mul(frame["_w"], axis=0).assign(_group=frame["_group"])
    counts = frame.groupby("_group")[cats].sum()
    w_coded = weighted.groupby("_group")[cats].sum()
    n_sent = frame.groupby("_group").size()
    w_tot = frame.groupby("_group")["_w"].sum()
    labels = {c.id: c.label for c in codebook.categories}
    rows = []
    for g in _order(counts.index, by):
        row_total = counts.loc[g].sum()
        for c in cats:
            n = int(counts.at[g, c])
            rows.append(
                {
                    "group": g,
                    "category": c,
                    "label": labels[c],
                    "kind": kind,
                    "count": n,
                    "n_sentences": int(n_sent[g]),
                    "pct": 100.0 * w_coded.at[g, c] / w_tot[g] if w_tot[g] else 0.0,
                    "row_pct": 100.0 * n / row_total if row_total else 0.0,
                }
            )
    out = pd.DataFrame(rows)
    out.attrs["by"] = by
    return out


def _order(groups: pd.Index, by: str) -> list[str]:
    values = [str(g) for g in groups]
    if by == "year":
        return sorted(values, key=lambda y: (y == UNDATED, y))
    return sorted(values)


def wide(long: pd.DataFrame, value: str = "count") -> pd.DataFrame:
    """The grid as a group × category matrix of one value (count, pct or row_pct)."""
    mat = long.pivot(index="group", columns="category", values=value)
    cats = list(dict.fromkeys(long["category"]))
    groups = list(dict.fromkeys(long["group"]))
    return mat.reindex(index=groups, columns=cats).astype(float).fillna(np.nan)
