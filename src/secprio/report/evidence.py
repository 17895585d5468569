"""The sentences behind every number, embedded in the report for drill-down.

Only what the report shows is read: per category the ``PER_CATEGORY`` codings of highest
confidence (ties: the earlier sentence first), their sentences' text cut from the store
(``secprio.store.aggregate``), never the corpus whole."""

from __future__ import annotations

import pandas as pd

from secprio.report.safe import http_url
from secprio.report.sections import Context
from secprio.store import aggregate

PER_CATEGORY = 400  # cap per category so a huge corpus still gives a report that opens


def records(ctx: Context) -> list[dict[str, object]]:
    """One record per coded sentence shown: text, document metadata, categories, highlight
    spans."""
    project = ctx.project
    cod = aggregate.top_codings(
        project.store, project.coder(ctx.coder), project.codebook.sha256,
        per_category=PER_CATEGORY,
    )  # fmt: skip
    texts = aggregate.passages(project.store, cod["segment_id"].tolist())
    found = aggregate.coding_spans(project.store, cod["id"].tolist())
    docs = project.documents().set_index("document_id")
    return _records(ctx, cod, texts, docs, found)


def _records(
    ctx: Context, cod: pd.DataFrame, texts: pd.DataFrame, docs: pd.DataFrame,
    found: dict[int, list[tuple[int, int]]],
) -> list[dict[str, object]]:  # fmt: skip
    """The highlights are the spans each coding stored (every codebook word its coder found,
    negated ones left out), else its one span; nothing is matched again here."""
    spans: dict[int, list[list[object]]] = {}
    cats: dict[int, list[str]] = {}
    for r in cod.itertuples(index=False):
        cats.setdefault(r.segment_id, []).append(r.category)
        stored = found.get(int(r.id)) or ([(r.start, r.end)] if r.start >= 0 else [])
        spans.setdefault(r.segment_id, []).extend([a, b, r.category] for a, b in stored)
    out = []
    for seg_id, doc_id, text in zip(
        texts["segment_id"], texts["document_id"], texts["text"], strict=True
    ):
        seg_id = int(seg_id)
        d = docs.loc[int(doc_id)]
        year = d["year"]
        out.append(
            {
                "id": seg_id,
                "text": text,
                "doc": d["title"],
                "date": d["date"] or "",
                "url": http_url(d["url"]),
                "doc_type": d["doc_type"],
                "issuer": d["issuer"],
                "period": ctx.project.period(year),
                "year": "" if pd.isna(year) else str(int(year)),
                "members": list(d["members"]),
                "language": d["language"],
                "cats": sorted(set(cats.get(seg_id, []))),
                "spans": sorted(spans.get(seg_id, []), key=lambda x: int(x[0])),  # type: ignore[call-overload]
            }
        )
    return out
