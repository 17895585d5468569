"""Comparison grids: any metadata field × category (MAXQDA's Code Matrix Browser).

Per cell (group g, category c): ``count`` = sentences of g coded c; ``pct`` = weighted
salience of c in g, in % (the weighted share of g's sentences coded c, as in the scores);
``row_pct`` = c's share of all codings of the grid's kind in g, in %. Which sentences belong
to a group is ``secprio.measure.groups``: for ``members`` a documented attribution rule
(issuer by default; ``fractional`` counts are then fractions of sentences).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.errors import MeasureError
from secprio.measure import groups
from secprio.measure.counts import DocCounts, from_sentences

GROUPINGS = groups.GROUPINGS
UNDATED = groups.UNDATED
VALUES = ("count", "pct", "row_pct")


def group_values(sentences: pd.DataFrame, by: str, *, attribution: str = "issuer") -> pd.Series:
    """The groups of each sentence, as a list (empty when it counts for none), by the same
    rule as ``grid``: for drilling down from a cell to its sentences."""
    rows = groups.assign(sentences, by, attribution=attribution)
    lists: list[list[str]] = [[] for _ in range(len(sentences))]
    for pos, group in zip(rows["pos"], rows["group"], strict=True):
        lists[int(pos)].append(str(group))
    return pd.Series(lists, index=sentences.index)


def grid(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    by: str = "members",
    kind: str = "priority",
    attribution: str = "issuer",
) -> pd.DataFrame:
    """Long table: one row per (group, category) with count, pct and row_pct."""
    counts = from_sentences(sentences, codings, codebook.ids(kind))  # type: ignore[arg-type]
    return grid_counts(counts, codebook, by=by, kind=kind, attribution=attribution)


def grid_counts(
    counts: DocCounts,
    codebook: Codebook,
    *,
    by: str = "members",
    kind: str = "priority",
    attribution: str = "issuer",
) -> pd.DataFrame:
    """``grid`` from per-document counts (secprio.measure.counts): a document stands for its
    sentences, which share its groups, weight and share."""
    cats = codebook.ids(kind)  # type: ignore[arg-type]
    if not cats:
        raise MeasureError(
            f"the codebook has no {kind} categories",
            path=codebook.path,
            hint="use kind priority or threat",
            code="E508",
        )
    docs = counts.documents
    rows = groups.assign(docs, by, attribution=attribution)
    if rows.empty:
        raise groups.empty_reason(docs, by, attribution, n_sentences=int(counts.n_sentences.sum()))
    pos, share = rows["pos"].to_numpy(), rows["share"].to_numpy()
    coded = counts.matrix(cats).astype(float)[pos] * share[:, None]
    n_s = counts.n_sentences.astype(float)[pos] * share
    weight = counts.weights[pos]
    frame = pd.DataFrame(coded, columns=cats)
    frame["_group"] = rows["group"].to_numpy()
    frame["_n"] = n_s
    frame["_w"] = weight * n_s
    weighted = frame[cats].mul(weight, axis=0)
    weighted["_group"] = frame["_group"]
    counts_g = frame.groupby("_group")[cats].sum()
    w_coded = weighted.groupby("_group")[cats].sum()
    n_sent = frame.groupby("_group")["_n"].sum()
    w_tot = frame.groupby("_group")["_w"].sum()
    labels = {c.id: c.label for c in codebook.categories}
    rows = []
    for g in groups.order([str(g) for g in counts_g.index], by):
        row_total = counts_g.loc[g].sum()
        for c in cats:
            n = _count(counts_g.at[g, c])
            rows.append(
                {
                    "group": g,
                    "category": c,
                    "label": labels[c],
                    "kind": kind,
                    "count": n,
                    "n_sentences": _count(n_sent[g]),
                    "pct": 100.0 * w_coded.at[g, c] / w_tot[g] if w_tot[g] else 0.0,
                    "row_pct": 100.0 * n / row_total if row_total else 0.0,
                }
            )
    out = pd.DataFrame(rows)
    out.attrs.update(by=by, attribution=attribution if by == "members" else "")
    return out


def _count(x: float) -> int | float:
    """Whole sentences as int; fractional attribution keeps two decimals."""
    return int(round(x)) if abs(x - round(x)) < 1e-9 else round(float(x), 2)


def wide(long: pd.DataFrame, value: str = "count") -> pd.DataFrame:
    """The grid as a group × category matrix of one value (count, pct or row_pct)."""
    if value not in VALUES:
        raise MeasureError(
            f"unknown grid value {value!r}", hint=f"use one of: {', '.join(VALUES)}", code="E507"
        )
    mat = long.pivot(index="group", columns="category", values=value)
    cats = list(dict.fromkeys(long["category"]))
    order = list(dict.fromkeys(long["group"]))
    return mat.reindex(index=order, columns=cats).astype(float).fillna(np.nan)
