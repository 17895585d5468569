"""What the watch digest adds to the shifts: the threat → response links that became
significant since the last digest, and the passages of the new documents that match a tracked
claim. Both reuse the analyses as they are (measure/links.py, measure/claims.py) over the
active documents; both are cheap next to a cycle (one Fisher test per pair of categories; one
TF-IDF fit over the sentences, lexical retrieval only, no embeddings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from secprio.codebook.model import Codebook
from secprio.errors import MeasureError
from secprio.measure import claims as claims_mod
from secprio.measure import links as links_mod


def pair(row: Any) -> str:
    return f"{row.threat}->{row.priority}"


def new_links(
    sentences: pd.DataFrame, codings: pd.DataFrame, codebook: Codebook, before: list[str] | None
) -> tuple[pd.DataFrame, list[str]]:
    """The significant links not in ``before`` (the pairs significant at the last digest;
    None: there was none, so nothing is new yet), and every pair significant now. A codebook
    without both kinds of category has no links."""
    try:
        table = links_mod.link_table(sentences, codings, codebook)
    except MeasureError:
        return pd.DataFrame(), []
    sig = table[table["significant"]]
    now = [pair(r) for r in sig.itertuples()]
    if before is None:
        return sig.iloc[0:0], now
    fresh = [p not in set(before) for p in now]
    return sig[fresh].sort_values("q"), now


def claim_passages(
    claims_file: Path | None, sentences: pd.DataFrame, codings: pd.DataFrame,
    codebook: Codebook, new_documents: list[int], *, top: int = 3,
) -> list[dict[str, Any]]:  # fmt: skip
    """For each claim of the project's claims file, the sentences of ``new_documents`` that
    match it as the claim check's partial match does (the share of the claim's key terms in
    the sentence's paragraph and title; the sentence itself on topic; not a denial), best
    first; claims without such a sentence are left out."""
    if claims_file is None or not claims_file.is_file() or not new_documents:
        return []
    items = claims_mod.load(claims_file, categories=codebook.ids())
    corpus = claims_mod.Corpus.build(sentences, codings, semantic=False)
    out = []
    for claim in items:
        found = claims_mod.retrieve(claim, corpus)
        if found.empty:
            continue
        hit = found[found["document_id"].isin(new_documents) & ~found["denial"]
                    & (found["match"] >= claims_mod.PARTIAL)
                    & (found["sentence_match"] >= claims_mod.ON_TOPIC)]  # fmt: skip
        if not hit.empty:
            out.append({"claim": claim.id, "text": claim.text,
                        "passages": hit.head(top).to_dict("records")})  # fmt: skip
    return out
