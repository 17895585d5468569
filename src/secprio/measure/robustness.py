"""Robustness: how far each score moves when the analyst's choices change.

The scores rest on choices a reader may not share: the document-type weights, the 1–9
mapping, and which documents are in the corpus. Each variant changes one choice and recomputes
the point scores of every frame (all documents and each period):

- ``equal weights``: every document type weighs 1;
- ``scale: linear`` / ``scale: rank`` (every mapping but the project's own);
- ``without <doc_type>``: the documents of one type left out;
- ``without <state>``: the documents issued by one member state left out (the attribution rule
  of the comparisons: documents of the organization count for no state).

Per frame and category the summary gives the baseline score, the range [min, max] under each
kind of choice and over all variants, the range on the project's own scale (every variant but
the other mappings) with the variants at either end, and how the category's rank moves. A
variant in which a category has no coded sentence is counted in ``n_no_evidence``, not as a
score. Point scores only: the baseline's bootstrap interval is in the score tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.config import SCALES
from secprio.ingest.countries import is_country
from secprio.measure.counts import DocCounts, from_sentences
from secprio.measure.scale import to_scale
from secprio.measure.scores import ALL

BASELINE = "baseline"


def _points(
    counts: DocCounts, weights: np.ndarray, codebook: Codebook, scale: str
) -> dict[str, float]:
    """{category: score or NaN} for one set of documents with these weights."""
    w_tot, c_tot = counts.totals(codebook.ids(), weights)
    sal = c_tot.sum(axis=0) / max(w_tot.sum(), 1e-12)
    out = {}
    for kind in ("priority", "threat"):
        idx = [i for i, c in enumerate(codebook.categories) if c.kind == kind]
        if not idx:
            continue
        sc = to_scale(sal[idx], scale)
        for j, i in enumerate(idx):
            out[codebook.categories[i].id] = sc[j] if sal[i] > 0 else np.nan
    return out


def variants(
    documents: pd.DataFrame, *, scale: str, members: list[str] | None = None
) -> Iterator[tuple[str, str, np.ndarray, pd.Series]]:
    """(name, kind of choice, row mask, weights) for the baseline and every variant, over
    the rows of ``documents`` (one per document, or per sentence: each with its
    document's ``weight``, ``doc_type`` and ``issuer``)."""
    every = np.ones(len(documents), dtype=bool)
    weight = documents["weight"].astype(float)
    yield BASELINE, BASELINE, every, weight
    yield "equal weights", "weights", every, pd.Series(1.0, index=documents.index)
    for other in SCALES:
        if other != scale:
            yield f"scale: {other}", "scale", every, weight
    for dtype in sorted(documents["doc_type"].dropna().unique()):
        yield (
            f"without {dtype}",
            "document type",
            (documents["doc_type"] != dtype).to_numpy(),
            weight,
        )
    issuers = documents["issuer"].fillna("").astype(str)
    states = sorted({i for i in issuers.unique() if is_country(i)} & set(members or issuers))
    for state in states:
        yield f"without {state}", "member state", (issuers != state).to_numpy(), weight


def run(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    scale: str = "ratio",
    by: str | None = "period",
    members: list[str] | None = None,
) -> pd.DataFrame:
    """Long table: one row per variant, frame and category with its point score."""
    counts = from_sentences(sentences, codings, codebook.ids())
    return run_counts(counts, codebook, scale=scale, by=by, members=members)


def run_counts(
    counts: DocCounts,
    codebook: Codebook,
    *,
    scale: str = "ratio",
    by: str | None = "period",
    members: list[str] | None = None,
) -> pd.DataFrame:
    """``run`` from per-document counts (secprio.measure.counts)."""
    docs = counts.documents
    frames: list[tuple[str, np.ndarray]] = [(ALL, np.ones(len(docs), dtype=bool))]
    if by:
        for value in dict.fromkeys(docs[by]):
            frames.append((str(value), (docs[by] == value).to_numpy()))
    labels = {c.id: (c.label, c.kind) for c in codebook.categories}
    rows = []
    for name, choice, keep, weight in variants(docs, scale=scale, members=members):
        mapping = scale if not name.startswith("scale: ") else name.removeprefix("scale: ")
        w = weight.to_numpy(dtype=float)
        for frame, in_frame in frames:
            mask = keep & in_frame
            if not mask.any():
                continue
            pts = _points(counts.select(mask), w[mask], codebook, mapping)
            for cat, value in pts.items():
                label, kind = labels[cat]
                rows.append(
                    {
                        "variant": name,
                        "choice": choice,
                        "frame": frame,
                        "category": cat,
                        "label": label,
                        "kind": kind,
                        "score": value,
                        "n_documents": int(mask.sum()),
                    }
                )
    out = pd.DataFrame(rows)
    out["rank"] = out.groupby(["variant", "frame", "kind"])["score"].rank(
        ascending=False, method="min"
    )
    return out


CHOICES = ("weights", "scale", "document type", "member state")


def _ends(part: pd.DataFrame) -> tuple[float, float, str, str]:
    scored = part.dropna(subset=["score"])
    if scored.empty:
        return np.nan, np.nan, "", ""
    lo, hi = scored.loc[scored["score"].idxmin()], scored.loc[scored["score"].idxmax()]
    return float(lo["score"]), float(hi["score"]), str(lo["variant"]), str(hi["variant"])


def summary(long: pd.DataFrame) -> pd.DataFrame:
    """Per frame and category: the baseline, the range [min, max] under each kind of choice
    (baseline included) and over all variants, what sets the ends, and the rank's range."""
    rows = []
    for (frame, cat), part in long.groupby(["frame", "category"], sort=False):
        base = part[part["variant"] == BASELINE]
        row: dict[str, object] = {
            "frame": frame,
            "category": cat,
            "label": part["label"].iat[0],
            "kind": part["kind"].iat[0],
            "baseline": base["score"].iat[0] if len(base) else np.nan,
        }
        for choice in CHOICES:
            mine = part[part["choice"].isin([BASELINE, choice])]
            key = choice.replace(" ", "_")
            row[f"{key}_min"], row[f"{key}_max"], _, _ = _ends(mine)
        lo, hi, _, _ = _ends(part)
        # on the project's own scale: the ends a reader can compare with the interval
        s_lo, s_hi, lo_v, hi_v = _ends(part[part["choice"] != "scale"])
        scored = part.dropna(subset=["score"])
        row.update(
            {
                "min": lo,
                "max": hi,
                "same_scale_min": s_lo,
                "same_scale_max": s_hi,
                "same_scale_spread": s_hi - s_lo,
                "lowest_under": lo_v,
                "highest_under": hi_v,
                "baseline_rank": base["rank"].iat[0] if len(base) else np.nan,
                "rank_min": scored["rank"].min() if len(scored) else np.nan,
                "rank_max": scored["rank"].max() if len(scored) else np.nan,
                "n_variants": len(part),
                "n_no_evidence": int(part["score"].isna().sum()),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)
