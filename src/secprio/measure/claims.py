"""Claim check: each claim against the corpus — best passages, date agreement, a verdict.

Retrieval: sentences ranked by TF-IDF cosine with the claim (its text and ``query`` words;
a small bonus for sentences coded with the claim's categories) and, when
``secprio.coders.embed`` can run, the best ``POOL`` of them re-ranked by the cosine of
sentence embeddings; the two rankings are merged by reciprocal rank fusion. The documents of
the best ``depth`` sentences of each ranking are then read in full, paragraph by paragraph.
Only the pools are embedded, never the corpus: the cost of a check does not grow with it.

Features the verdict reads (rules in ``verdict``; docs/analyses.md explains them):
- *match* of a paragraph: the IDF-weighted share of the claim's terms (its query words and its
  proper names, stemmed) found in the paragraph or its document's title;
- *denial* of a sentence: a negation followed within three words by a verb or noun of fact
  ("was not signed", "not binding", "no summit decision") in a sentence that itself holds a
  good part of the claim's terms;
- *evidence date*: the date the document reports on (``event:`` in its metadata), else its date.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

from secprio.errors import MeasureError
from secprio.text import normalize
from secprio.timeline.figure import event_date

VERDICTS = ("supported", "weak", "not_found")
FULL, PARTIAL, ON_TOPIC = 0.9, 0.6, 0.25  # thresholds of the verdict rules
POOL = 500  # sentences per claim re-ranked semantically: the best by the lexical score
STEM = 6  # prefix stemming: survives English plurals and Turkic suffixes alike
_STOP = """a an and are as at be been by for from has have in into is it its of on or that the
    their this to was were which with will would"""
_STARTERS = "a an the in at on of by for to as this that these those it its"
STOP, STARTERS = frozenset(_STOP.split()), frozenset(_STARTERS.split())
ALIASES = {"turkey": "turkiye"}  # exonyms spelled apart (Türkiye's English name since 2022)
DENIAL = re.compile(
    r"\b(?:not|no|never|neither|nor)\b(?:\W+\w+){0,3}?\W+(?:sign|creat|establish|set up|"
    r"adopt|found|conclud|held|hold|support|confirm|decid|decision|binding|exist|ratif|approv)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    year: int | None
    categories: tuple[str, ...] = ()
    query: str = ""
    expected: str = ""
    source: str = ""


def load(path: Path | str, *, categories: list[str] | None = None) -> list[Claim]:
    """Read ``claims.yaml`` (see docs/formats.md); categories must be codebook ids."""
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise MeasureError(
            f"cannot read claims: {exc}",
            path=path,
            hint="see docs/formats.md, 'Claims'",
            code="E506",
        ) from exc
    if not isinstance(raw, list):
        raise MeasureError(
            "claims must be a YAML list", path=path, hint="start with '- id: ...'", code="E505"
        )
    out = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not item.get("id") or not item.get("text"):
            raise MeasureError(
                f"claim {n} needs an id and a text",
                path=path,
                hint="see docs/formats.md, 'Claims'",
                code="E504",
            )
        cats = tuple(str(c) for c in item.get("categories") or [])
        unknown = [c for c in cats if categories is not None and c not in categories]
        expected = str(item.get("expected") or "")
        if unknown or (expected and expected not in VERDICTS):
            what = f"unknown categories {unknown}" if unknown else f"expected {expected!r}"
            raise MeasureError(
                f"claim {item['id']!r}: {what}",
                path=path,
                hint=f"categories are codebook ids; expected one of {VERDICTS}",
                code="E503",
            )
        date = item.get("date")
        out.append(
            Claim(
                str(item["id"]),
                " ".join(str(item["text"]).split()),
                int(str(date)[:4]) if date else None,
                cats,
                str(item.get("query") or ""),
                expected,
                " ".join(str(item.get("source") or "").split()),
            )
        )
    return out


# -- terms -------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Normalized for matching (secprio.text) and stripped of diacritics (Türkiye ~ Turkiye)."""
    decomposed = unicodedata.normalize("NFKD", normalize(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    word = ALIASES.get(word, word)
    for suffix in ("ing", "ed"):  # English past and gerund: sign ~ signed ~ signing
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            word = word[: -len(suffix)]
            break
    return word[:STEM]


def stems(text: str) -> list[str]:
    words = re.findall(r"[^\W\d_]+", fold(text))
    return [stem(w) for w in words if w not in STOP and len(w) > 1]


def names(claim: Claim) -> list[str]:
    """The claim's proper names: its capitalized words, less capitalized function words."""
    words = [w for w in re.findall(r"[^\W\d_]+", claim.text) if w[0].isupper()]
    return list(dict.fromkeys(stem(fold(w)) for w in words if fold(w) not in STARTERS))


def key_terms(claim: Claim) -> list[str]:
    """What evidence must speak of: the claim's query words and its proper names, stemmed."""
    return list(dict.fromkeys(stems(claim.query) + names(claim)))


# -- the corpus ready for retrieval ------------------------------------------------------------
def cache_path(root: Path) -> Path:
    return root / ".secprio" / "embeddings.sqlite"


@dataclass
class Corpus:
    """Sentences with their TF-IDF rows and the stems of their paragraphs and titles."""

    sentences: pd.DataFrame
    codings: pd.DataFrame
    vectorizer: TfidfVectorizer
    matrix: Any
    contexts: list[frozenset[str]]  # per paragraph: its stems and its document's title's
    context_of: np.ndarray  # per sentence: the index of its paragraph in ``contexts``
    semantic: bool = False  # re-rank each claim's pool by embeddings (when they can run)
    cache: Path | None = None  # the embedding cache (secprio.coders.embed)

    @classmethod
    def build(
        cls,
        sentences: pd.DataFrame,
        codings: pd.DataFrame,
        *,
        semantic: bool = True,
        cache: Path | None = None,
    ) -> Corpus:
        sents = sentences.reset_index(drop=True)
        vec = TfidfVectorizer(analyzer=stems, sublinear_tf=True)
        matrix = vec.fit_transform(sents["text"])
        contexts, context_of = _contexts(sents)
        return cls(sents, codings, vec, matrix, contexts, context_of, semantic, cache)

    def context(self, i: int) -> frozenset[str]:
        """Stems of sentence ``i``'s paragraph and of its document's title."""
        return self.contexts[self.context_of[i]]

    def weights(self, terms: list[str]) -> np.ndarray:
        """IDF of each term; a term the corpus never uses weighs most."""
        return term_weights(self.vectorizer, terms)


def _contexts(sents: pd.DataFrame) -> tuple[list[frozenset[str]], np.ndarray]:
    """Each paragraph's stems with its title's, stemmed once each and shared by its sentences
    (not once per sentence: a paragraph of k sentences would cost k² words)."""
    keys = pd.MultiIndex.from_frame(sents[["document_id", "paragraph"]].fillna(-1))
    codes = np.asarray(pd.factorize(keys)[0], dtype=np.int64)  # in order of first sentence
    docs, titles = sents["document_id"].to_numpy(), sents["title"].to_numpy()
    texts = sents["text"].to_numpy()
    order = np.argsort(codes, kind="stable")  # a paragraph's sentences stay in text order
    groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if len(order) else []
    title_stems: dict[Any, frozenset[str]] = {}
    contexts = []
    for group in groups:
        doc, title = docs[group[0]], titles[group[0]]
        if doc not in title_stems:
            title_stems[doc] = frozenset(stems(title if isinstance(title, str) else ""))
        contexts.append(title_stems[doc] | frozenset(stems(" ".join(texts[group]))))
    return contexts, codes


# -- retrieval and features --------------------------------------------------------------------
def _ranks(score: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(score))
    ranks[np.argsort(-score, kind="stable")] = np.arange(1, len(score) + 1)
    return ranks


def _share(terms: list[str], weights: np.ndarray, found: set[str] | frozenset[str]) -> float:
    if not terms:
        return 0.0
    return float(np.dot([t in found for t in terms], weights) / weights.sum())


def _denies_year(text: str, year: int | None) -> bool:
    """A denial with the claimed year after the cue, in the same clause: "not signed in 2021"."""
    return bool(year) and any(
        re.search(rf"^[^;:]*?\b{year}\b", text[m.start() :]) for m in DENIAL.finditer(text)
    )


def _lexical(claim: Claim, corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """Each sentence's TF-IDF cosine with the claim, and its ranking score: the cosine plus a
    small bonus for a sentence coded with one of the claim's categories."""
    query = corpus.vectorizer.transform([f"{claim.text} {claim.query}"])
    lexical = (corpus.matrix @ query.T).toarray().ravel()
    cod = corpus.codings
    coded = cod[(cod["value"] == 1) & cod["category"].isin(claim.categories)]
    bonus = corpus.sentences["segment_id"].isin(coded["segment_id"]).to_numpy()
    return lexical, lexical + 0.05 * bonus


def pool(claim: Claim, corpus: Corpus, *, size: int = POOL) -> np.ndarray:
    """The positions of the claim's ``size`` best sentences by the lexical ranking score (ties
    in corpus order): the only sentences semantic retrieval looks at."""
    return np.argsort(-_lexical(claim, corpus)[1], kind="stable")[:size]


LEXICAL_ONLY = "lexical retrieval only (semantic retrieval not requested)"
NO_EMBED = "lexical retrieval only: secprio.coders.embed is not available"
SEMANTIC_NOTE = f"lexical and semantic retrieval (the best {POOL} sentences per claim re-ranked)"


def unavailable(exc: Exception) -> str:
    return f"lexical retrieval only: semantic retrieval unavailable ({exc})"


def _semantic(claims: list[Claim], corpus: Corpus) -> tuple[list[np.ndarray | None], str]:
    """Per claim, the cosine of each pooled sentence's embedding with the claim's (NaN outside
    the pool), and what retrieval could do. Embeddings go through the cache."""
    none: list[np.ndarray | None] = [None] * len(claims)
    if not corpus.semantic:
        return none, LEXICAL_ONLY
    try:
        from secprio.coders.embed import embed
    except ImportError:
        return none, NO_EMBED
    pools = [pool(c, corpus) for c in claims]
    union = np.unique(np.concatenate(pools)) if pools else np.array([], dtype=np.int64)
    texts = corpus.sentences["text"].to_numpy()[union].tolist()
    try:
        sentence_vectors = embed(texts, cache=corpus.cache)
        claim_vectors = embed([c.text for c in claims], cache=corpus.cache)
    except Exception as exc:  # noqa: BLE001 - a missing model must not stop the claim check
        return none, unavailable(exc)
    out: list[np.ndarray | None] = []
    for positions, vector in zip(pools, claim_vectors, strict=True):
        cosine = np.full(len(corpus.sentences), np.nan)
        cosine[positions] = sentence_vectors[np.searchsorted(union, positions)] @ vector
        out.append(cosine)
    return out, SEMANTIC_NOTE


def retrieve(
    claim: Claim, corpus: Corpus, *, depth: int = 10, semantic: np.ndarray | None = None
) -> pd.DataFrame:
    """Every sentence of the documents retrieved for a claim, with the verdict's features,
    best first (paragraph match, then fused rank). ``semantic``: each sentence's cosine with
    the claim's embedding, NaN for sentences not compared."""
    sents = corpus.sentences
    lexical, score = _lexical(claim, corpus)
    rank = _ranks(score)
    fused, wanted = 1.0 / (60 + rank), rank <= depth
    if semantic is None:
        semantic = np.full(len(sents), np.nan)
    compared = ~np.isnan(semantic)
    if compared.any():
        by_meaning = np.full(len(sents), np.inf)
        by_meaning[compared] = _ranks(semantic[compared])
        fused = fused + np.where(compared, 1.0 / (60 + by_meaning), 0.0)
        wanted |= by_meaning <= depth
    docs = sents["document_id"][wanted].unique()
    idx = np.flatnonzero(sents["document_id"].isin(docs).to_numpy())
    contexts = [corpus.context(int(i)) for i in idx]
    return passage_rows(
        claim, sents.iloc[idx], lexical[idx], semantic[idx], fused[idx], contexts,
        lambda terms: corpus.weights(terms),
    )  # fmt: skip


def term_weights(vectorizer: TfidfVectorizer, terms: list[str]) -> np.ndarray:
    """IDF of each term; a term the corpus never uses weighs most."""
    vocab, idf = vectorizer.vocabulary_, vectorizer.idf_
    top = float(idf.max()) if len(idf) else 1.0
    return np.array([idf[vocab[t]] if t in vocab else top for t in terms])


def passage_rows(
    claim: Claim,
    sents: pd.DataFrame,
    lexical: np.ndarray,
    semantic: np.ndarray,
    fused: np.ndarray,
    contexts: list[frozenset[str]],
    weights: Callable[[list[str]], np.ndarray],
) -> pd.DataFrame:
    """The retrieved sentences (the sentences of the retrieved documents, in corpus order,
    with their scores and the stems of their paragraphs) with the verdict's features, best
    first."""
    terms = key_terms(claim)
    w = weights(terms)
    rows = []
    for k in range(len(sents)):
        s = sents.iloc[k]
        when = event_date(s.get("extra")) or (s["date"] or "")
        context = contexts[k]
        rows.append(
            {
                "claim": claim.id,
                "segment_id": int(s["segment_id"]),
                "document_id": int(s["document_id"]),
                "title": s["title"],
                "date": s["date"] or "",
                "evidence_date": when,
                "url": s["url"],
                "lexical": float(lexical[k]),
                "semantic": float(semantic[k]),
                "fused": float(fused[k]),
                "match": _share(terms, w, context),
                "sentence_match": _share(terms, w, set(stems(s["text"]))),
                "missing": " ".join(t for t in terms if t not in context),
                "denial": bool(DENIAL.search(s["text"])),
                "denies_year": _denies_year(s["text"], claim.year),
                "date_agrees": bool(claim.year and when[:4] == str(claim.year)),
                "text": s["text"],
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.sort_values(["match", "fused"], ascending=False, ignore_index=True)
    out.insert(1, "rank", range(1, len(out) + 1))
    return out


# -- verdicts ----------------------------------------------------------------------------------
def _cite(row: pd.Series) -> str:
    return f"“{row['text']}” ({row['title']}, {row['evidence_date'] or 'undated'})"


def verdict(found: pd.DataFrame) -> tuple[str, str]:
    """The verdict on one claim from its retrieved sentences, and the reason. In order:

    1. a denial whose clause names the claimed year ("was not signed in 2021") → not_found;
    2. a full match (≥ FULL of the terms), not a denial, dated as claimed → supported, or weak
       when a denial in the same document qualifies it ("not binding", "not created");
    3. full matches dated otherwise only → weak (misdated);
    4. a partial match (≥ PARTIAL) dated as claimed → weak, or not_found when a denial in the
       same document qualifies it;
    5. anything else → not_found.
    A denial counts only if its sentence holds at least ON_TOPIC of the claim's terms.
    """
    if found.empty:
        return "not_found", "no passage retrieved"
    denial = found["denial"] & (found["sentence_match"] >= ON_TOPIC)
    contra = found[denial & found["denies_year"]]
    if not contra.empty:
        return "not_found", f"contradicted: {_cite(contra.iloc[0])}"
    affirm = found[~found["denial"]]
    full = affirm[affirm["match"] >= FULL]
    dated = full[full["date_agrees"]]
    partial = affirm[(affirm["match"] >= PARTIAL) & affirm["date_agrees"]]
    for evidence, label in ((dated, "supported"), (partial, "weak")):
        if evidence.empty:
            continue
        qualify = found[denial & found["document_id"].isin(evidence["document_id"])]
        if label == "supported" and qualify.empty:
            return "supported", f"full match dated as claimed: {_cite(evidence.iloc[0])}"
        if label == "supported":
            return "weak", f"qualified by {_cite(qualify.iloc[0])}"
        if qualify.empty and full.empty:
            return "weak", f"partial match only: {_cite(evidence.iloc[0])}"
        if full.empty:
            return "not_found", f"partial match, denied by {_cite(qualify.iloc[0])}"
        break
    if not full.empty:
        years = ", ".join(sorted({d[:4] for d in full["evidence_date"] if d}))
        return "weak", f"misdated: the evidence is dated {years}: {_cite(full.iloc[0])}"
    return "not_found", "no passage holds the claim's terms dated as claimed"


def _dates(found: pd.DataFrame, claim: Claim) -> tuple[str, str]:
    strong = found[(found["match"] >= PARTIAL) & ~found["denial"]]
    years = sorted({d[:4] for d in strong["evidence_date"] if d})
    if not years:
        return "no evidence", ""
    if str(claim.year) in years:
        return "agree", ", ".join(years)
    return "misdated", ", ".join(years)


def check(
    claims: list[Claim], corpus: Corpus, *, top: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdicts (one row per claim) and their best ``top`` passages (rows per claim)."""
    vectors, note = _semantic(claims, corpus)
    found = [
        retrieve(claim, corpus, semantic=vector)
        for claim, vector in zip(claims, vectors, strict=True)
    ]
    return results(claims, found, note, top=top)


def results(
    claims: list[Claim], found: list[pd.DataFrame], note: str, *, top: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdicts (one row per claim) from each claim's retrieved sentences (``retrieve``),
    and their best ``top`` passages."""
    rows, passages = [], []
    for claim, mine in zip(claims, found, strict=True):
        label, reason = verdict(mine)
        agreement, years = _dates(mine, claim)
        best = mine.iloc[0] if not mine.empty else None
        rows.append(
            {
                "claim": claim.id,
                "text": claim.text,
                "year": claim.year,
                "categories": ";".join(claim.categories),
                "verdict": label,
                "expected": claim.expected,
                "agrees": (label == claim.expected) if claim.expected else None,
                "date_agreement": agreement,
                "evidence_years": years,
                "reason": reason,
                "best_match": float(best["match"]) if best is not None else 0.0,
                "best_passage": "" if best is None else best["text"],
                "best_source": "" if best is None else f"{best['title']} ({best['evidence_date']})",
                "retrieval": note,
            }
        )
        passages.append(mine.head(top))
    psg = pd.concat(passages, ignore_index=True) if passages else pd.DataFrame()
    return pd.DataFrame(rows), psg


def confusion(results: pd.DataFrame) -> pd.DataFrame:
    """Expected (rows) × verdict (columns) counts for claims that state an expectation."""
    known = results[results["expected"] != ""]
    table = pd.crosstab(known["expected"], known["verdict"])
    return table.reindex(index=list(VERDICTS), columns=list(VERDICTS), fill_value=0)
