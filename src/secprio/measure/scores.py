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
    return _frame_rows(
        w_tot, c_tot, codebook, n_sentences=len(sentences),
        n_coded=[int(coded[:, i].sum()) for i in range(coded.shape[1])], scale=scale,
        n_boot=n_boot, seed=seed, frame=frame, min_documents=min_documents,
        min_docs_coded=min_docs_coded,
    )  # fmt: skip


def _frame_rows(
    w_tot: np.ndarray,
    c_tot: np.ndarray,
    codebook: Codebook,
    *,
    n_sentences: int,
    n_coded: Sequence[int],
    scale: str,
    n_boot: int,
    seed: int,
    frame: str,
    min_documents: int,
    min_docs_coded: int,
) -> pd.DataFrame:
    """``score_frame`` from the per-document totals (``doc_totals``) of the frame's
    documents in id order; ``n_coded``: coded sentences per category."""
    n_docs = len(w_tot)
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
                n_docs,
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
                    "n_documents": n_docs,
                    "n_sentences": n_sentences,
                    "n_coded": int(n_coded[i]),
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


def repeated_sum(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``values[i]`` added ``times[i]`` times to 0.0, left to right: the float that
    ``doc_totals`` (``bincount`` / ``add.at``, one addition per sentence) gives a document
    whose sentences all weigh ``values[i]``, bit for bit (``n * w`` may differ in the last
    bit). Time and memory: the largest ``times`` per distinct value, not their sum."""
    values = np.asarray(values, dtype=float)
    times = np.asarray(times, dtype=np.int64)
    out = np.zeros(len(values))
    out[np.isnan(values) & (times > 0)] = np.nan
    for v in np.unique(values[~np.isnan(values)]):
        sel = np.flatnonzero(values == v)
        n = times[sel]
        top = int(n.max())
        if top <= 0:
            continue
        cum = np.add.accumulate(np.full(top, v, dtype=float))
        out[sel] = np.where(n > 0, cum[np.maximum(n - 1, 0)], 0.0)
    return out


def score_documents(
    documents: pd.DataFrame,
    coded: np.ndarray,
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
    """``score`` from one row per document instead of one per sentence: ``documents`` (by
    ``document_id``, each with ``n_sentences`` > 0, its ``weight`` and the metadata fields
    ``by`` reads) and ``coded`` (documents × ``codebook.ids()``: its sentences coded with
    each category). Every weight and grouping is per document, so the totals, and with them
    every score and interval, are the same as ``score`` on the sentences; memory grows with
    the number of documents, not of sentences."""
    n_sent = documents["n_sentences"].to_numpy(dtype=np.int64)
    weights = documents["weight"].to_numpy(dtype=float)
    coded = np.asarray(coded, dtype=np.int64).reshape(len(documents), len(codebook.categories))
    opts = dict(scale=scale, n_boot=n_boot, seed=seed, min_documents=min_documents,
                min_docs_coded=min_docs_coded)  # fmt: skip

    def frame(value: np.ndarray, n: np.ndarray, m: np.ndarray, name: str) -> pd.DataFrame:
        k = m.shape[1]
        w_tot = repeated_sum(value, n)
        c_tot = repeated_sum(np.repeat(value, k), m.ravel()).reshape(len(value), k)
        return _frame_rows(
            w_tot, c_tot, codebook, n_sentences=int(n.sum()), n_coded=m.sum(axis=0).tolist(),
            frame=name, **opts,  # type: ignore[arg-type]
        )  # fmt: skip

    if by is None:
        return frame(weights, n_sent, coded, ALL)
    rows = groups.assign(documents, by, attribution=attribution)
    if rows.empty:
        raise groups.empty_reason(documents, by, attribution, n_sentences=int(n_sent.sum()))
    parts = []
    for value in groups.order(rows["group"].unique().tolist(), by):
        mine = rows[rows["group"] == value]
        # a document listed twice in a group (a member named twice) counts its sentences
        # twice, as the sentence rows of ``score`` do; its share is the same both times
        pos, first, mult = np.unique(
            mine["pos"].to_numpy(dtype=np.int64), return_index=True, return_counts=True
        )
        share = mine["share"].to_numpy(dtype=float)[first]
        parts.append(
            frame(weights[pos] * share, n_sent[pos] * mult, coded[pos] * mult[:, None], value)
        )
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(by=by, attribution=attribution if by == "members" else "")
    return out
