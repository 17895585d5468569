"""Bounded reads over the store: aggregates and top-k evidence, never the corpus whole.

``Project.sentences()`` and ``Project.codings()`` read every sentence and coding into one
frame each; their memory grows with the corpus. What the scores and the report's drill-down
need is much less: per document, its number of sentences and, per category, its number of
coded sentences (``sentence_counts``, ``coded_counts``); and the few passages the report shows
(``top_codings``, ``passages``). These read the codings in one query in segment order, a batch
of rows at a time, and keep only running totals or a bounded heap, so their memory is bounded
by the batch, the number of documents and the number of passages shown, not by the text.

Which codings count is the same rule as ``Project.codings``: ``codings_select`` picks the
coder's machine codings made with the current codebook and the human decisions, and
``effective`` lets a human decision on the same (sentence, category) win. A (sentence,
category) never straddles two batches (a batch ends where a segment ends), so applying
``effective`` batch by batch gives the same codings as applying it once to the whole table.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa

from secprio.store import schema as t

if TYPE_CHECKING:
    from secprio.store.store import Store

BATCH = 10_000  # codings per batch read (about 1 KB of Python objects each while read)


def codings_select(
    coder: str, codebook_sha256: str, *, human: bool = True, evidence: bool = True
) -> sa.Select[tuple[object, ...]]:
    """The candidate codings: ``coder``'s machine codings made with the codebook of this
    sha256, and (``human``) every human decision; ``evidence=False`` leaves its JSON out."""
    current = sa.select(t.runs.c.id).where(t.runs.c.codebook_sha256 == codebook_sha256)
    machine = (t.codings.c.coder == coder) & (t.codings.c.source == "machine")
    machine = machine & t.codings.c.run_id.in_(current)
    people = t.codings.c.source == "human" if human else sa.false()
    columns = [c for c in t.codings.c if evidence or c.name != "evidence"]
    return sa.select(*columns).where(machine | people)


def effective(df: pd.DataFrame) -> pd.DataFrame:
    """One coding per (segment, category): the latest human decision when there is one, else
    the latest machine coding (a stable sort: among equals, the later row wins)."""
    if df.empty:
        return df
    df = df.assign(_human=(df["source"] == "human").astype(int))
    df = df.sort_values(["_human", "created_at"])
    return df.drop_duplicates(["segment_id", "category"], keep="last").drop(columns="_human")


def sentence_counts(store: Store) -> pd.DataFrame:
    """Per active document with sentences: ``document_id`` and ``n_sentences``, by id."""
    q = (
        sa.select(t.segments.c.document_id, sa.func.count().label("n_sentences"))
        .join(t.documents, t.documents.c.id == t.segments.c.document_id)
        .where(t.segments.c.kind == "sentence", t.documents.c.active.is_(True))
        .group_by(t.segments.c.document_id)
        .order_by(t.segments.c.document_id)
    )
    with store.reading() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(
        {
            "document_id": np.array([int(r[0]) for r in rows], dtype=np.int64),
            "n_sentences": np.array([int(r[1]) for r in rows], dtype=np.int64),
        }
    )


def effective_batches(
    store: Store,
    coder: str,
    codebook_sha256: str,
    *,
    human: bool = True,
    columns: Sequence[str] = ("segment_id", "category", "value", "confidence", "start", "end"),
    segment: Sequence[str] = (),
    batch: int = BATCH,
) -> Iterator[pd.DataFrame]:
    """The effective codings of the sentences of active documents in batches of about
    ``batch`` rows, each frame with ``document_id``, ``columns`` and the columns ``segment``
    of their sentence (``idx``, ``paragraph``). One query, read as it goes, in segment order;
    a batch ends where a segment ends."""
    base = codings_select(coder, codebook_sha256, human=human, evidence=False).subquery()
    keep = list(dict.fromkeys(["segment_id", "category", "value", "source", "created_at",
                               *columns]))  # fmt: skip
    seg_cols = [t.segments.c[c] for c in segment]
    q = (
        sa.select(t.segments.c.document_id, *[base.c[c] for c in keep], *seg_cols)
        .join(t.segments, t.segments.c.id == base.c.segment_id)
        .join(t.documents, t.documents.c.id == t.segments.c.document_id)
        .where(t.segments.c.kind == "sentence", t.documents.c.active.is_(True))
        .order_by(base.c.segment_id, base.c.id)
    )
    names = ["document_id", *keep, *segment]
    seg = names.index("segment_id")

    def frame(rows: list[sa.Row[tuple[object, ...]]]) -> pd.DataFrame:
        df = pd.DataFrame([tuple(r) for r in rows], columns=names)
        df = effective(df) if human else df
        return df[["document_id", *columns, *segment]]

    pending: list[sa.Row[tuple[object, ...]]] = []
    with store.reading() as conn:
        result = conn.execution_options(stream_results=True).execute(q)
        for part in result.partitions(batch):
            pending += part
            last = pending[-1][seg]
            cut = len(pending)
            while cut and pending[cut - 1][seg] == last:
                cut -= 1
            if cut:  # the rows of the last segment may go on in the next part
                yield frame(pending[:cut])
                pending = pending[cut:]
    if pending:
        yield frame(pending)


def coded_counts(
    store: Store, coder: str, codebook_sha256: str, categories: Sequence[str], *,
    human: bool = True, batch: int = BATCH,
) -> pd.DataFrame:  # fmt: skip
    """Per (active document, category of ``categories``): the number of its sentences whose
    effective coding has value 1; columns ``document_id``, ``category``, ``n_coded``."""
    wanted = set(categories)
    totals: dict[tuple[int, str], int] = {}
    cols = ("segment_id", "category", "value")
    for df in effective_batches(store, coder, codebook_sha256, human=human, columns=cols,
                                batch=batch):  # fmt: skip
        hits = df[(df["value"] == 1) & df["category"].isin(wanted)]
        for (doc, cat), n in hits.groupby(["document_id", "category"]).size().items():
            key = (int(doc), str(cat))
            totals[key] = totals.get(key, 0) + int(n)
    return pd.DataFrame(
        [(d, c, n) for (d, c), n in sorted(totals.items())],
        columns=["document_id", "category", "n_coded"],
    ).astype({"document_id": np.int64, "n_coded": np.int64})


def top_codings(
    store: Store, coder: str, codebook_sha256: str, *, per_category: int, batch: int = BATCH
) -> pd.DataFrame:
    """The effective codings with value 1 that the report shows: per category the
    ``per_category`` of highest confidence (ties: the lower segment id first), sorted by
    category, then that order. Memory: one batch and the kept codings."""
    heaps: dict[str, list[tuple[float, int, int, int, int, int]]] = {}
    cols = ("id", "segment_id", "category", "value", "confidence", "start", "end")
    for df in effective_batches(store, coder, codebook_sha256, columns=cols, batch=batch):
        hits = df[df["value"] == 1]
        for i, doc, seg, cat, conf, a, b in zip(
            hits["id"], hits["document_id"], hits["segment_id"], hits["category"],
            hits["confidence"], hits["start"], hits["end"], strict=True,
        ):  # fmt: skip
            heap = heaps.setdefault(str(cat), [])
            # a min-heap on (confidence, -segment): its top is the weakest kept coding
            item = (float(conf), -int(seg), int(doc), int(a), int(b), int(i))
            if len(heap) < per_category:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    rows = [
        (i, doc, -neg, cat, conf, a, b)
        for cat in sorted(heaps)
        for conf, neg, doc, a, b, i in sorted(heaps[cat], key=lambda x: (-x[0], -x[1]))
    ]
    columns = ["id", "document_id", "segment_id", "category", "confidence", "start", "end"]
    return pd.DataFrame(rows, columns=columns)


def coding_spans(store: Store, coding_ids: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
    """The evidence spans each of these codings stored (``evidence.spans``: every affirmed
    codebook span its coder found), by coding id; codings without any are left out."""
    ids = sorted({int(i) for i in coding_ids})
    out: dict[int, list[tuple[int, int]]] = {}
    for lo in range(0, len(ids), 500):
        q = sa.select(t.codings.c.id, t.codings.c.evidence).where(
            t.codings.c.id.in_(ids[lo : lo + 500])
        )
        with store.reading() as conn:
            for i, ev in conn.execute(q):
                spans = ev.get("spans") if isinstance(ev, dict) else None
                if isinstance(spans, list) and spans:
                    out[int(i)] = [(int(a), int(b)) for a, b in spans]
    return out


def passages(store: Store, segment_ids: Sequence[int]) -> pd.DataFrame:
    """``segment_id``, ``document_id`` and ``text`` of these segments (the text cut from its
    document in the database, so no whole document is read), by segment id."""
    ids = sorted({int(i) for i in segment_ids})
    s, d = t.segments.c, t.documents.c
    out = []
    for lo in range(0, len(ids), 500):
        chunk = ids[lo : lo + 500]
        q = (
            sa.select(s.id, s.document_id, sa.func.substr(d.text, s.start + 1, s.end - s.start))
            .join(t.documents, d.id == s.document_id)
            .where(s.id.in_(chunk))
        )
        with store.reading() as conn:
            out += [(int(i), int(doc), str(x or "")) for i, doc, x in conn.execute(q)]
    out.sort()
    return pd.DataFrame(out, columns=["segment_id", "document_id", "text"])


def _unit(unit: str, window: int) -> sa.ColumnElement[int]:
    """A sentence's unit within its document: its paragraph, or its block of ``window``."""
    if unit == "paragraph":
        return t.segments.c.paragraph
    return t.segments.c.idx // window


def unit_count(store: Store, *, unit: str = "paragraph", window: int = 1) -> int:
    """The number of units (``unit`` paragraph, or blocks of ``window`` sentences) holding
    the sentences of the active documents."""
    keys = (
        sa.select(t.segments.c.document_id, _unit(unit, window).label("unit"))
        .join(t.documents, t.documents.c.id == t.segments.c.document_id)
        .where(t.segments.c.kind == "sentence", t.documents.c.active.is_(True))
        .distinct()
        .subquery()
    )
    with store.reading() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(keys)).scalar_one())


def unit_sentences(
    store: Store, units: Sequence[tuple[int, int]], *, unit: str = "paragraph", window: int = 1
) -> pd.DataFrame:
    """The sentences of these units (document id, unit): ``document_id``, ``unit``,
    ``segment_id`` and ``text`` (cut from the document in the database), in segment order."""
    s, d = t.segments.c, t.documents.c
    key = _unit(unit, window)
    out: list[tuple[int, int, int, str]] = []
    wanted = sorted({(int(a), int(b)) for a, b in units})
    for lo in range(0, len(wanted), 200):
        chunk = wanted[lo : lo + 200]
        q = (
            sa.select(
                s.document_id, key, s.id, sa.func.substr(d.text, s.start + 1, s.end - s.start)
            )
            .join(t.documents, d.id == s.document_id)
            .where(s.kind == "sentence", sa.tuple_(s.document_id, key).in_(chunk))
        )
        with store.reading() as conn:
            out += [(int(a), int(b), int(i), str(x or "")) for a, b, i, x in conn.execute(q)]
    out.sort(key=lambda r: r[2])
    return pd.DataFrame(out, columns=["document_id", "unit", "segment_id", "text"])


def sentence_texts(store: Store, *, sentences: int = 20_000) -> Iterator[pd.DataFrame]:
    """The sentences of the active documents with their text, in segment order, whole
    documents of about ``sentences`` sentences per frame (``segment_id``, ``document_id``,
    ``paragraph``, ``text``): the corpus read once, a few documents at a time."""
    counts = sentence_counts(store)
    s = t.segments.c
    chunk: list[int] = []
    size = 0
    ends = list(zip(counts["document_id"].tolist(), counts["n_sentences"].tolist(), strict=True))
    for k, (doc, n) in enumerate(ends):
        chunk.append(int(doc))
        size += int(n)
        if size < sentences and k + 1 < len(ends):
            continue
        q = (
            sa.select(s.id, s.document_id, s.paragraph, s.start, s.end)
            .where(s.kind == "sentence", s.document_id.in_(chunk))
            .order_by(s.id)
        )
        with store.reading() as conn:
            rows = conn.execute(q).all()
        texts = store.texts(chunk)
        yield pd.DataFrame(
            {
                "segment_id": np.array([int(r[0]) for r in rows], dtype=np.int64),
                "document_id": np.array([int(r[1]) for r in rows], dtype=np.int64),
                "paragraph": [r[2] for r in rows],
                "text": [texts[int(r[1])][int(r[3]) : int(r[4])] for r in rows],
            }
        )
        chunk, size = [], 0
