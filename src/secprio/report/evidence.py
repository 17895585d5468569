"""The sentences behind every number, embedded in the report for drill-down.

Only what the report shows is read: per category the ``PER_CATEGORY`` codings of highest
confidence (ties: the earlier sentence first), their sentences' text cut from the store
(``secprio.store.aggregate``), never the corpus whole."""

from __future__ import annotations

import pandas as pd

from secprio.coders.dictionary import DictionaryCoder
from secprio.errors import SecprioError
from secprio.report.safe import http_url
from secprio.report.sections import Context
from secprio.store import aggregate

PER_CATEGORY = 400  # cap per category so a huge corpus still gives a report that opens


def _matcher(ctx: Context) -> DictionaryCoder | None:
    """The dictionary coder, for highlighting; None when its patterns cannot be compiled."""
    try:
        return DictionaryCoder(ctx.project.codebook)
    except SecprioError:
        return None


def records(ctx: Context) -> list[dict[str, object]]:
    """One record per coded sentence shown: text, document metadata, categories, highlight
    spans."""
    project = ctx.project
    cod = aggregate.top_codings(
        project.store, project.coder(ctx.coder), project.codebook.sha256,
        per_category=PER_CATEGORY,
    )  # fmt: skip
    texts = aggregate.passages(project.store, cod["segment_id"].tolist())
    docs = project.documents().set_index("document_id")
    return _records(ctx, cod, texts, docs)


def _records(
    ctx: Context, cod: pd.DataFrame, texts: pd.DataFrame, docs: pd.DataFrame
) -> list[dict[str, object]]:
    spans: dict[int, list[list[object]]] = {}
    cats: dict[int, list[str]] = {}
    for r in cod.itertuples(index=False):
        cats.setdefault(r.segment_id, []).append(r.category)
        if r.start >= 0:
            spans.setdefault(r.segment_id, []).append([r.start, r.end, r.category])
    matcher = _matcher(ctx)
    out = []
    for seg_id, doc_id, text in zip(
        texts["segment_id"], texts["document_id"], texts["text"], strict=True
    ):
        seg_id = int(seg_id)
        d = docs.loc[int(doc_id)]
        if matcher is not None:  # every matched word, not only each category's first
            wanted = set(cats.get(seg_id, []))
            hits = matcher.match(text, d["language"])
            spans[seg_id] = [[a, b, c] for c, _, a, b in hits if c in wanted] or spans.get(
                seg_id, []
            )
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
