"""The claim check over a corpus streamed from the store (secprio.measure.claims without the
sentences, their TF-IDF matrix or the codings in memory).

``claims.check`` ranks every sentence of the corpus per claim. Here the corpus is read twice,
in frames of whole documents in segment order: (1) the document frequency of every stem, from
which the vectorizer is built as ``TfidfVectorizer.fit`` builds it (the same sorted vocabulary
and IDF); (2) every sentence's TF-IDF cosine with each claim and its coded bonus, written to a
scratch file in the project's ``.secprio`` folder (16 bytes per sentence and claim, read back
in chunks, never mapped), while the best ``POOL`` of each claim are kept. Then (3) the ranks
of the sentences of the retrieved documents among all are counted over the scratch file, and
the retrieved documents are read whole, as ``claims.retrieve`` reads them. Memory: one frame
of documents, a chunk of the scratch file, the vocabulary and the pools; the scratch file is
removed at the end.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from secprio.measure import claims as cl

Frames = Callable[[], Iterable[pd.DataFrame]]  # the corpus: segment_id, document_id, text


def vectorizer(frames: Frames) -> tuple[TfidfVectorizer, int]:
    """The vectorizer ``claims.Corpus.build`` fits, from one pass over the corpus; and the
    number of sentences."""
    df: Counter[str] = Counter()
    n = 0
    for frame in frames():
        for text in frame["text"]:
            df.update(set(cl.stems(text)))
        n += len(frame)
    vocab = {term: i for i, term in enumerate(sorted(df))}
    vec = TfidfVectorizer(analyzer=cl.stems, sublinear_tf=True, vocabulary=vocab)
    freq = np.array([df[t] for t in sorted(df)], dtype=np.float64) + 1.0
    idf = np.full_like(freq, fill_value=n + 1, dtype=np.float64)  # as TfidfTransformer.fit
    idf /= freq
    np.log(idf, out=idf)
    idf += 1.0
    vec.idf_ = idf
    return vec, n


@dataclass
class Pool:
    """One claim's best sentences by the lexical ranking score, best first (ties: corpus
    order): corpus positions, segment and document ids, scores."""

    pos: np.ndarray
    segment: np.ndarray
    document: np.ndarray
    score: np.ndarray

    @classmethod
    def empty(cls) -> Pool:
        none = np.zeros(0, np.int64)
        return cls(none, none, none, np.zeros(0))

    def add(self, other: Pool, size: int) -> None:
        p = np.concatenate([self.pos, other.pos])
        s = np.concatenate([self.score, other.score])
        keep = np.lexsort((p, -s))[:size]
        self.pos, self.score = p[keep], s[keep]
        self.segment = np.concatenate([self.segment, other.segment])[keep]
        self.document = np.concatenate([self.document, other.document])[keep]


@dataclass
class Scored:
    """Pass 2's result: per sentence (corpus order) and claim its cosine and bonus flag,
    written row by row to a scratch file (read back in chunks: never mapped, so never in
    the process's memory whole), each claim's pool, and the corpus position of each
    document's first sentence."""

    path: Path
    n: int
    k: int
    pools: list[Pool]
    first: dict[int, int]

    def chunks(self, rows: int = 1 << 16) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
        """(first position, cosines, bonus flags) of ``rows`` sentences at a time."""
        width = 2 * self.k
        with self.path.open("rb") as f:
            for lo in range(0, self.n, rows):
                block = np.fromfile(f, dtype=np.float64, count=min(rows, self.n - lo) * width)
                block = block.reshape(-1, width)
                yield lo, block[:, : self.k], block[:, self.k :] > 0

    def ranks(self, j: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For claim ``j``: the rank (``claims._ranks``: 1 + the sentences scored higher, or
        as high and earlier) of the sentences at positions ``targets`` among all, and their
        cosines."""
        lexical = np.zeros(len(targets))
        mine = np.zeros(len(targets))
        for lo, lex, flag in self.chunks():  # the targets' own scores first
            inside = (targets >= lo) & (targets < lo + len(lex))
            lexical[inside] = lex[targets[inside] - lo, j]
            mine[inside] = lex[targets[inside] - lo, j] + 0.05 * flag[targets[inside] - lo, j]
        rank = np.ones(len(targets), dtype=np.int64)
        for lo, lex, flag in self.chunks():
            score = lex[:, j] + 0.05 * flag[:, j]
            ordered = np.sort(score)
            right = np.searchsorted(ordered, mine, side="right")
            rank += len(score) - right  # scored higher
            hi = lo + len(score)
            rank += np.where(targets >= hi, right - np.searchsorted(ordered, mine), 0)
            for t in np.flatnonzero((targets >= lo) & (targets < hi)):  # its own chunk
                rank[t] += int(np.count_nonzero(score[: targets[t] - lo] == mine[t]))
        return rank, lexical


def _scores(
    claims: list[cl.Claim],
    frames: Frames,
    coded: Callable[[int, int], pd.DataFrame],
    vec: TfidfVectorizer,
    scratch: Path,
) -> Scored:
    """Pass 2: each sentence's cosine with each claim and its bonus flag, and the pools."""
    k = len(claims)
    queries = vec.transform([f"{c.text} {c.query}" for c in claims])
    pools = [Pool.empty() for _ in claims]
    first: dict[int, int] = {}
    at, last = 0, -1
    path = scratch / "scores.f8"
    with path.open("wb") as out:
        for frame in frames():
            if frame.empty:
                continue
            seg = frame["segment_id"].to_numpy(np.int64)
            doc = frame["document_id"].to_numpy(np.int64)
            if seg[0] <= last or np.any(np.diff(seg) <= 0):
                raise RuntimeError("the corpus frames are not in segment order")
            last = int(seg[-1])
            lex = (vec.transform(frame["text"]) @ queries.T).toarray()
            cod = coded(int(seg[0]), last)
            cod = cod[cod["value"] == 1]
            flags = np.zeros((len(frame), k))
            pos = np.arange(at, at + len(frame))
            for d, p in zip(*np.unique(doc, return_index=True), strict=True):
                first.setdefault(int(d), at + int(p))
            for j, claim in enumerate(claims):
                mine = cod[cod["category"].isin(claim.categories)]
                flag = np.isin(seg, mine["segment_id"].to_numpy())
                flags[:, j] = flag
                pools[j].add(Pool(pos, seg, doc, lex[:, j] + 0.05 * flag), cl.POOL)
            np.ascontiguousarray(np.hstack([lex, flags]), dtype=np.float64).tofile(out)
            at += len(frame)
    return Scored(path, at, k, pools, first)


def check(
    claims: list[cl.Claim],
    frames: Frames,
    coded: Callable[[int, int], pd.DataFrame],
    read_documents: Callable[[list[int]], pd.DataFrame],
    read_texts: Callable[[list[int]], list[str]],
    *,
    semantic: bool = True,
    cache: Path | None = None,
    scratch: Path | None = None,
    top: int = 3,
    depth: int = 10,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``claims.check`` on the streamed corpus: ``frames()`` reads it (``segment_id``,
    ``document_id``, ``text``, in segment order), ``coded(lo, hi)`` the effective codings of
    the segments with ids in [lo, hi], ``read_documents(ids)`` those documents' sentences as
    ``Project.sentences(text=True)`` gives them (with ``paragraph``, ``title``, ``date``,
    ``extra``, ``url``), ``read_texts(segment_ids)`` those sentences' texts. ``scratch``:
    the folder of the scratch files."""
    vec, _n = vectorizer(frames)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="claims-") as tmp:
        scored = _scores(claims, frames, coded, vec, Path(tmp))
        vectors, note = _semantic(claims, scored.pools, read_texts, semantic=semantic,
                                  cache=cache)  # fmt: skip
        found = [
            _retrieve(c, j, scored, vectors[j], vec, read_documents, depth=depth)
            for j, c in enumerate(claims)
        ]
        del scored
    return cl.results(claims, found, note, top=top)


def _semantic(
    claims: list[cl.Claim],
    pools: list[Pool],
    read_texts: Callable[[list[int]], list[str]],
    *,
    semantic: bool,
    cache: Path | None,
) -> tuple[list[dict[int, float] | None], str]:
    """Per claim, the cosine of each pooled sentence's embedding with the claim's, by
    corpus position (``claims._semantic``)."""
    none: list[dict[int, float] | None] = [None] * len(claims)
    if not semantic:
        return none, cl.LEXICAL_ONLY
    try:
        from secprio.coders.embed import embed
    except ImportError:
        return none, cl.NO_EMBED
    pos = np.concatenate([p.pos for p in pools]) if pools else np.zeros(0, np.int64)
    seg = np.concatenate([p.segment for p in pools]) if pools else np.zeros(0, np.int64)
    union, at = np.unique(pos, return_index=True)
    try:
        sentence_vectors = embed(read_texts(seg[at].tolist()), cache=cache)
        claim_vectors = embed([c.text for c in claims], cache=cache)
    except Exception as exc:  # noqa: BLE001 - a missing model must not stop the claim check
        return none, cl.unavailable(exc)
    out: list[dict[int, float] | None] = []
    for p, vector in zip(pools, claim_vectors, strict=True):
        cosine = sentence_vectors[np.searchsorted(union, p.pos)] @ vector
        out.append(dict(zip(p.pos.tolist(), cosine.tolist(), strict=True)))
    return out, cl.SEMANTIC_NOTE


def _retrieve(
    claim: cl.Claim,
    j: int,
    scored: Scored,
    cosine: dict[int, float] | None,
    vec: TfidfVectorizer,
    read_documents: Callable[[list[int]], pd.DataFrame],
    *,
    depth: int,
) -> pd.DataFrame:
    """``claims.retrieve`` of one claim: its pool holds the corpus's best sentences by the
    lexical score; the sentences of the retrieved documents are read and ranked among all."""
    pool = scored.pools[j]
    wanted = np.zeros(len(pool.pos), dtype=bool)
    wanted[:depth] = True
    meaning: dict[int, float] = {}
    if cosine:
        compared = np.sort(pool.pos)  # in corpus order, as claims.retrieve ranks them
        ranks = cl._ranks(np.array([cosine[int(p)] for p in compared]))
        meaning = {int(p): float(r) for p, r in zip(compared, ranks, strict=True)}
        wanted |= np.array([meaning[int(p)] <= depth for p in pool.pos], dtype=bool)
    docs = sorted({int(d) for d in pool.document[wanted]})
    sents = read_documents(docs).reset_index(drop=True) if docs else None
    if sents is None or sents.empty:
        z = np.zeros(0)
        return cl.passage_rows(
            claim, pd.DataFrame(), z, z, z, [], lambda t: cl.term_weights(vec, t)
        )
    within = sents.groupby("document_id").cumcount().to_numpy()
    pos = sents["document_id"].map(scored.first).to_numpy(np.int64) + within
    rank, lexical = scored.ranks(j, pos)
    fused = 1.0 / (60 + rank.astype(float))
    semantic = np.array([cosine.get(int(p), np.nan) if cosine else np.nan for p in pos])
    if meaning:
        extra = np.array([1.0 / (60 + meaning[int(p)]) if int(p) in meaning else 0.0
                          for p in pos])  # fmt: skip
        fused = fused + extra
    contexts, context_of = cl._contexts(sents)
    return cl.passage_rows(
        claim, sents, lexical, semantic, fused, [contexts[i] for i in context_of],
        lambda t: cl.term_weights(vec, t),
    )  # fmt: skip
