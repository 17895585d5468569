"""Threat → response links from the codings streamed in segment order (secprio.measure.links
over the store, never the sentences or codings whole).

The codings come in batches (``secprio.store.aggregate.effective_batches``, with each
sentence's ``paragraph`` and ``idx``), in segment order, so every document's codings are
consecutive: ``documents_done`` regroups the batches so that a frame holds whole documents.
A document's units are then complete, and ``link_table`` adds its units' presence to the
pair counts a, (a+b), (a+c); d follows from the number of units, which the store counts
(``aggregate.unit_count``). ``passages`` keeps per pair the ``top`` strongest units seen so
far (the ranking of ``links.passages``) and reads the text of only those units. Memory: one
batch, one document and the kept candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.measure.links import PASSAGE_COLUMNS, check_unit, need_both, pair_table


def documents_done(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The rows of ``batches`` regrouped so that no document is split between two frames.
    The batches come in segment order, and a document's segments follow those of the
    documents before it (ids grow as documents are stored), so every document of a batch
    but its last is complete; the rows within a batch may be in any order."""
    pending: pd.DataFrame | None = None
    done = -1  # the highest document id yielded
    for df in batches:
        df = df if pending is None else pd.concat([pending, df], ignore_index=True)
        if df.empty:
            pending = df
            continue
        ids = df["document_id"].to_numpy()
        if ids.min() <= done:
            raise RuntimeError(f"the codings of document {ids.min()} are not consecutive")
        last = ids.max()
        whole = ids != last
        if whole.any():
            yield df[whole]
            done = int(ids[whole].max())
        pending = df[~whole]
    if pending is not None and len(pending):
        yield pending


def _local(df: pd.DataFrame, unit: str, window: int) -> np.ndarray:
    if unit == "paragraph":
        return df["paragraph"].to_numpy(dtype=np.int64)
    return df["idx"].to_numpy(dtype=np.int64) // window


def link_table(
    batches: Iterable[pd.DataFrame],
    n_units: int,
    codebook: Codebook,
    *,
    unit: str = "paragraph",
    window: int = 1,
    alpha: float = 0.05,
    min_count: int = 2,
) -> pd.DataFrame:
    """``links.link_table`` from streamed codings (``document_id``, ``category``, ``value``,
    ``paragraph``, ``idx``) and the number of units of the corpus."""
    threats, prios = need_both(codebook)
    check_unit(unit, window)
    col = {c: i for i, c in enumerate(threats + prios)}
    k = len(threats)
    a = np.zeros((k, len(prios)), dtype=np.int64)
    n_t = np.zeros(k, dtype=np.int64)
    n_p = np.zeros(len(prios), dtype=np.int64)
    for df in documents_done(batches):
        hits = df[(df["value"] == 1) & df["category"].isin(col)]
        if hits.empty:
            continue
        keys = np.column_stack([hits["document_id"].to_numpy(np.int64), _local(hits, unit, window)])
        codes, index = np.unique(keys, axis=0, return_inverse=True)
        present = np.zeros((len(codes), len(col)), dtype=np.int64)
        present[index.ravel(), hits["category"].map(col).to_numpy()] = 1
        t_mat, p_mat = present[:, :k], present[:, k:]
        a += t_mat.T @ p_mat
        n_t += t_mat.sum(axis=0)
        n_p += p_mat.sum(axis=0)
    b, c = n_t[:, None] - a, n_p[None, :] - a
    d = n_units - a - b - c
    return pair_table((a, b, c, d), n_units, codebook, unit=unit, window=window, alpha=alpha,
                      min_count=min_count)  # fmt: skip


Key = tuple[float, str, int, int]  # (-strength, date, document, unit): links.passages' order


def _cats_of(hits: pd.DataFrame, doc: int, local: int) -> dict[int, frozenset[str]]:
    """The categories of each coded sentence of one unit."""
    part = hits[(hits["document_id"] == doc) & (hits["_unit"] == local)]
    return {int(s): frozenset(g) for s, g in part.groupby("segment_id")["category"]}


def passages(
    batches: Iterable[pd.DataFrame],
    documents: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    read_units: Callable[[list[tuple[int, int]]], pd.DataFrame],
    *,
    unit: str = "paragraph",
    window: int = 1,
    top: int = 3,
) -> pd.DataFrame:
    """``links.passages`` from streamed codings (``document_id``, ``segment_id``,
    ``category``, ``value``, ``pattern``, ``paragraph``, ``idx``); ``documents``: one row per
    document (``document_id``, ``weight``, ``title``, ``date``, ``doc_type``, ``url``);
    ``read_units(keys)``: the sentences (``document_id``, ``unit``, ``segment_id``, ``text``)
    of these units (``aggregate.unit_sentences``)."""
    check_unit(unit, window)
    meta = documents.set_index("document_id")
    kept: dict[tuple[str, str], list[tuple[Key, int, dict[int, frozenset[str]]]]] = {}
    wanted = list(dict.fromkeys(pairs))
    for df in documents_done(batches):
        hits = df[df["value"] == 1].drop_duplicates(["segment_id", "category", "pattern"])
        if hits.empty:
            continue
        hits = hits.assign(_unit=_local(hits, unit, window))
        n_match = hits.groupby(["document_id", "_unit", "category"]).size().unstack(fill_value=0)
        docs = n_match.index.get_level_values(0).to_numpy(np.int64)
        local = n_match.index.get_level_values(1).to_numpy(np.int64)
        weight = meta.loc[docs, "weight"].to_numpy(dtype=float)
        dates = meta.loc[docs, "date"].astype(str).to_numpy()
        for t, p in wanted:
            if t not in n_match.columns or p not in n_match.columns:
                continue
            mt, mp = n_match[t].to_numpy(), n_match[p].to_numpy()
            both = np.flatnonzero((mt > 0) & (mp > 0))
            if not len(both):
                continue
            strength = (mt[both] + mp[both]) * weight[both]
            order = np.lexsort((local[both], docs[both], dates[both], -strength))[:top]
            mine = kept.setdefault((t, p), [])
            for j in order:
                i = both[j]
                key = (-float(strength[j]), str(dates[i]), int(docs[i]), int(local[i]))
                mine.append((key, int(docs[i]), _cats_of(hits, int(docs[i]), int(local[i]))))
            mine.sort(key=lambda x: x[0])
            del mine[top:]
    for mine in kept.values():
        mine.sort(key=lambda x: x[0])
        del mine[top:]
    units = sorted({(doc, key[3]) for mine in kept.values() for key, doc, _ in mine})
    sents = read_units(units) if units else pd.DataFrame(
        columns=["document_id", "unit", "segment_id", "text"])  # fmt: skip
    by_unit = {k: g for k, g in sents.groupby(["document_id", "unit"], sort=False)}
    rows = []
    for t, p in pairs:
        for rank, (key, doc, cats_of) in enumerate(kept.get((t, p), []), 1):
            unit_sents = by_unit[(doc, key[3])]
            coded = [
                s
                for sid, s in zip(unit_sents["segment_id"], unit_sents["text"], strict=True)
                if cats_of.get(int(sid), frozenset()) & {t, p}
            ]
            f = meta.loc[doc]
            rows.append(
                {
                    "threat": t,
                    "priority": p,
                    "rank": rank,
                    "document_id": int(doc),
                    "unit": int(key[3]),
                    "title": f["title"],
                    "date": f["date"] or "",
                    "doc_type": f["doc_type"],
                    "url": f["url"],
                    "strength": -key[0],
                    "text": " … ".join(coded),
                    "unit_text": " ".join(unit_sents["text"]),
                }
            )
    return pd.DataFrame(rows, columns=PASSAGE_COLUMNS)
