"""Weighted salience per category and frame, on the 1–9 scale, with bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.measure.bootstrap import doc_totals, interval, replicates
from secprio.measure.scale import to_scale

ALL = "All documents"


def coded_matrix(
    sentences: pd.DataFrame, codings: pd.DataFrame, categories: Sequence[str]
) -> np.ndarray:
    """0/1 matrix (sentence × category) of the effective codings."""
    pos = pd.Series(np.arange(len(sentences)), index=sentences["segment_id"].to_numpy())
    mat = np.zeros((len(sentences), len(categories)))
    col = {c: i for i, c in enumerate(categories)}
    hits = codings[(codings["value"] == 1) & codings["category"].isin(col)]
    hits = hits[hits["segment_id"].isin(pos.index)]
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
) -> pd.DataFrame:
    """One row per category: salience and 1–9 score, each with a 95% interval."""
    doc_codes, doc_index = np.unique(sentences["document_id"].to_numpy(), return_inverse=True)
    weights = sentences["weight"].to_numpy(dtype=float)
    w_tot, c_tot = doc_totals(doc_index, weights, coded, len(doc_codes))
    point = c_tot.sum(axis=0) / max(w_tot.sum(), 1e-12)
    boot = replicates(w_tot, c_tot, n=n_boot, seed=seed)
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
            rows.append(
                {
                    "frame": frame,
                    "category": cat.id,
                    "label": cat.label,
                    "kind": kind,
                    "n_documents": len(doc_codes),
                    "n_sentences": len(sentences),
                    "n_coded": int(coded[:, i].sum()),
                    "salience": point[i],
                    "salience_lo": s_lo[j],
                    "salience_hi": s_hi[j],
                    "score": sc[j],
                    "score_lo": k_lo[j],
                    "score_hi": k_hi[j],
                    "points": int(np.rint(sc[j])),
                }
            )
    return pd.DataFrame(rows)


def score(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    scale: str = "ratio",
    n_boot: int = 1000,
    seed: int = 0,
    by: str | None = None,
) -> pd.DataFrame:
    """Scores for all documents, or for each value of the column ``by`` (a frame each)."""
    cats = codebook.ids()
    coded = coded_matrix(sentences, codings, cats)
    if by is None:
        return score_frame(sentences, coded, codebook, scale=scale, n_boot=n_boot, seed=seed)
    parts = []
    for value, part in sentences.groupby(by, sort=True):
        mask = (sentences[by] == value).to_numpy()
        parts.append(
            score_frame(
                part, coded[mask], codebook, scale=scale, n_boot=n_boot, seed=seed, frame=str(value)
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
