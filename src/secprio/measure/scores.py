"""Weighted salience per category and frame, on the 1–9 scale, with bootstrap intervals.

Every row says how much evidence stands behind it (``evidence``): ``no evidence`` when no
sentence of the frame is coded with the category (score, interval and points are left empty,
never shown as a low score); ``insufficient`` when the frame has fewer than ``MIN_DOCS``
documents or the category is coded in fewer than ``MIN_DOCS_CODED`` (2) documents (one or
two texts decide the number; the bootstrap over documents cannot show how fragile it is);
``measured`` otherwise. Both thresholds are settings, ``measure.min_documents`` and
``measure.min_docs_coded``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.measure import groups
from secprio.measure.bootstrap import MIN_DOCS, doc_totals, interval, replicates
from secprio.measure.scale import to_scale

ALL = "All documents"
MEASURED, INSUFFICIENT, NO_EVIDENCE = "measured", "insufficient", "no evidence"


MIN_DOCS_CODED = 2


def evidence(
    n_documents: int,
    n_docs_coded: int,
    *,
    min_documents: int = MIN_DOCS,
    min_docs_coded: int = MIN_DOCS_CODED,
) -> str:
    """The evidence state of one cell (see the module docstring); the thresholds are the
    settings ``measure.min_documents`` and ``measure.min_docs_coded``."""
    if n_docs_coded == 0:
        return NO_EVIDENCE
    if n_documents < min_documents or n_docs_coded < min_docs_coded:
        return INSUFFICIENT
    return MEASURED


def coded_matrix(
    sentences: pd.DataFrame, codings: pd.DataFrame, categories: Sequence[str]
) -> np.ndarray:
    """0/1 matrix (sentence × category) of the effective codings."""
    pos = pd.Series(np.arange(len(sentences)), index=sentences["segment_id"].to_numpy())
    mat = np.zeros((len(sentences), len(categories)))
    col = {c: i for i, c in enumerate(categories)}
    hits = codings[(codings["value"] == 1) & codings["category"].isin(col)]
    hits = hits[hits["segment_id"].isin(pos.index)]
    if hits.empty:  # also: no sentences at all (no dated document, an empty window)
        return mat
    mat[pos[hits["segment_id"]].to_numpy(), hits["category"].map(col).to_numpy()] = 1.0
    return mat


def score_frame(
    sentences: pd.DataFrame,
    coded: np.ndarray,
    codebook: Codebook,
    *,
    scale: str,
    n_boot: int,
    seed: int,
    frame: str = ALL,
    min_documents: int = MIN_DOCS,
    min_docs_coded: int = MIN_DOCS_CODED,
) -> pd.DataFrame:
    """One row per category: salience and 1–9 score, each with a 95% interval."""
    doc_codes, doc_index = np.unique(sentences["document_id"].to_numpy(), return_inverse=True)
    weights = sentences["weight"].to_numpy(dtype=float)
    w_tot, c_tot = doc_totals(doc_index, weights, coded, len(doc_codes))
    point = c_tot.sum(axis=0) / max(w_tot.sum(), 1e-12)
    boot = replicates(w_tot, c_tot, n=n_boot, seed=seed)
    docs_coded = (c_tot > 0).sum(axis=0)
    rows = []
    for kind in ("priority", "threat"):
        idx = [i for i, c in enumerate(codebook.categories) if c.kind == kind]
        if not idx:
            continue
        sc, sc_boot = to_scale(point[idx], scale), to_scale(boot[:, idx], scale)
        s_lo, s_hi = interval(boot[:, idx])
        k_lo, k_hi = interval(sc_boot)
        for j, i in enumerate(idx):
            cat = codebook.categories[i]
            state = evidence(
                len(doc_codes),
                int(docs_coded[i]),
                min_documents=min_documents,
                min_docs_coded=min_docs_coded,
            )
            none = state == NO_EVIDENCE
            rows.append(
                {
                    "frame": frame,
                    "category": cat.id,
                    "label": cat.label,
                    "kind": kind,
                    "n_documents": len(doc_codes),
                    "n_sentences": len(sentences),
                    "n_coded": int(coded[:, i].sum()),
                    "n_docs_coded": int(docs_coded[i]),
                    "evidence": state,
                    "salience": point[i],
                    "salience_lo": s_lo[j],
                    "salience_hi": s_hi[j],
                    "score": np.nan if none else sc[j],
                    "score_lo": np.nan if none else k_lo[j],
                    "score_hi": np.nan if none else k_hi[j],
                    "points": pd.NA if none else int(np.rint(sc[j])),
                }
            )
    out = pd.DataFrame(rows)
    return out.astype({"points": "Int64"}) if len(out) else out


def score(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    scale: str = "ratio",
    n_boot: int = 1000,
    seed: int = 0,
    by: str | None = None,
    attribution: str = "issuer",
    min_documents: int = MIN_DOCS,
    min_docs_coded: int = MIN_DOCS_CODED,
) -> pd.DataFrame:
    """Scores for all documents, or for each group of the field ``by`` (a frame each);
    ``attribution`` is the rule for ``by="members"`` (``secprio.measure.groups``)."""
    cats = codebook.ids()
    coded = coded_matrix(sentences, codings, cats)
    if by is None:
        return score_frame(
            sentences,
            coded,
            codebook,
            scale=scale,
            n_boot=n_boot,
            seed=seed,
            min_documents=min_documents,
            min_docs_coded=min_docs_coded,
        )
    rows = groups.assign(sentences, by, attribution=attribution)
    if rows.empty:
        raise groups.empty_reason(sentences, by, attribution)
    parts = []
    for value in groups.order(rows["group"].unique().tolist(), by):
        mine = rows[rows["group"] == value]
        pos = mine["pos"].to_numpy()
        part = sentences.iloc[pos].assign(
            weight=sentences["weight"].to_numpy(dtype=float)[pos] * mine["share"].to_numpy()
        )
        parts.append(
            score_frame(
                part,
                coded[pos],
                codebook,
                scale=scale,
                n_boot=n_boot,
                seed=seed,
                frame=value,
                min_documents=min_documents,
                min_docs_coded=min_docs_coded,
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(by=by, attribution=attribution if by == "members" else "")
    return out
