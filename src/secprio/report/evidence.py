"""The sentences behind every number, embedded in the report for drill-down."""

from __future__ import annotations

import pandas as pd

from secprio.coders.dictionary import DictionaryCoder
from secprio.errors import SecprioError
from secprio.report.safe import http_url
from secprio.report.sections import Context

PER_CATEGORY = 400  # cap per category so a huge corpus still gives a report that opens


def _matcher(ctx: Context) -> DictionaryCoder | None:
    """The dictionary coder, for highlighting; None when its patterns cannot be compiled."""
    try:
        return DictionaryCoder(ctx.project.codebook)
    except SecprioError:
        return None


def records(ctx: Context) -> list[dict[str, object]]:
    """One record per coded sentence: text, document metadata, categories, highlight spans."""
    cod = ctx.codings[ctx.codings["value"] == 1]
    cod = cod.sort_values("confidence", ascending=False).groupby("category").head(PER_CATEGORY)
    sents = ctx.sentences.set_index("segment_id")
    keep = sents.loc[sents.index.intersection(cod["segment_id"].unique())]
    spans: dict[int, list[list[object]]] = {}
    cats: dict[int, list[str]] = {}
    for r in cod.itertuples(index=False):
        cats.setdefault(r.segment_id, []).append(r.category)
        if r.start >= 0:
            spans.setdefault(r.segment_id, []).append([r.start, r.end, r.category])
    matcher = _matcher(ctx)
    out = []
    for seg_id, s in keep.iterrows():
        if matcher is not None:  # every matched word, not only each category's first
            wanted = set(cats.get(int(seg_id), []))
            hits = matcher.match(s["text"], s["language"])
            spans[int(seg_id)] = [[a, b, c] for c, _, a, b in hits if c in wanted] or spans.get(
                int(seg_id), []
            )
        out.append(
            {
                "id": int(seg_id),
                "text": s["text"],
                "doc": s["title"],
                "date": s["date"] or "",
                "url": http_url(s["url"]),
                "doc_type": s["doc_type"],
                "issuer": s["issuer"],
                "period": s["period"],
                "year": "" if pd.isna(s["year"]) else str(int(s["year"])),
                "members": list(s["members"]),
                "language": s["language"],
                "cats": sorted(set(cats.get(int(seg_id), []))),
                "spans": sorted(spans.get(int(seg_id), []), key=lambda x: int(x[0])),  # type: ignore[call-overload]
            }
        )
    return out
