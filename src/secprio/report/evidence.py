"""The sentences behind every number, embedded in the report for drill-down."""

from __future__ import annotations

import pandas as pd

from secprio.report.sections import Context

PER_CATEGORY = 400  # cap per category so a huge corpus still gives a report that opens


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
    out = []
    for seg_id, s in keep.iterrows():
        out.append(
            {
                "id": int(seg_id),
                "text": s["text"],
                "doc": s["title"],
                "date": s["date"] or "",
                "url": s["url"],
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
