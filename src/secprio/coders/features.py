"""Sentence features for the coders that learn: words, the dictionary's verdicts, context,
embeddings.

Four blocks, each optional, stacked into one sparse matrix:

* ``lexical`` — hashed word uni- and bigrams and character 3–5-grams of the text as the
  dictionary sees it (normalized, Cyrillic transliterated, titles blanked). Hashing keeps no
  vocabulary, so a model trained on third-party sentences ships as weights alone; character
  n-grams catch Turkic suffixes and Russian inflection without a stemmer.
* ``dictionary`` — one 0/1 column per category: did an affirmed codebook pattern match. The
  model learns where the codebook's word lists are right and where real text says otherwise.
* ``context`` — what the sentence's document is about: the share of the document's sentences
  the dictionary codes with each category. Real pages name their topic once ("the war in
  Ukraine", "the summit in Samarkand") and then speak of "the conflict" or "the decisions":
  a sentence on its own does not say what a reader of the page knows. A sentence without a
  document (a codebook example) has no context: zeros, so that the model learns what context
  means from real pages only. (The categories of the neighbouring sentences were tried too and
  cost F1 on real text: docs/coders.md.)
* ``embedding`` — multilingual sentence embeddings (embed.py), when the ``semantic`` extra is
  installed: they carry a label given to an English sentence to its paraphrases elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from secprio.codebook.model import Codebook
from secprio.coders.dictionary import DictionaryCoder
from secprio.coders.embed import embed
from secprio.model import Coding, Unit

BLOCKS = ("lexical", "dictionary", "context", "embedding")
# embeddings are opt-in: e5 codes ~20 sentences/s here, the other blocks thousands (see
# docs/coders.md for what they add on real text)
DEFAULT_BLOCKS = ("lexical", "dictionary", "context")
# embedding vectors have unit length, so each of their 384 parts is small beside the n-gram
# counts: at weight 1 the regularized model leaves them nearly unused. 4 was chosen on the
# held-out fresh3 set among 1, 2, 4, 8 (docs/coders.md); the weights file records its own.
EMBEDDING_WEIGHT = 4.0
HASH_BITS = 15  # 32,768 columns per analyzer: few collisions at a few thousand sentences
Pages = Mapping[str, Sequence[Unit]]  # a document's key -> all its sentences


class Featurizer:
    """Turns sentences into the feature matrix the supervised coder and ensemble learn on."""

    def __init__(
        self, codebook: Codebook, *, blocks: Sequence[str] = BLOCKS, model: str = "e5",
        cache: Path | str | None = None, embedding_weight: float = EMBEDDING_WEIGHT,
    ) -> None:  # fmt: skip
        unknown = sorted(set(blocks) - set(BLOCKS))
        if unknown:
            raise ValueError(f"unknown feature block {unknown[0]!r}; use {', '.join(BLOCKS)}")
        self.codebook, self.blocks, self.model, self.cache = codebook, tuple(blocks), model, cache
        self.embedding_weight = embedding_weight
        self.dictionary = DictionaryCoder(codebook)
        self.categories = codebook.ids()
        common = {"n_features": 1 << HASH_BITS, "alternate_sign": False, "lowercase": False}
        self._words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), **common)
        self._chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)

    def codings(self, units: Sequence[Unit]) -> list[Coding]:
        """The dictionary's codings of ``units``, each ``unit_id`` the unit's position."""
        return list(self.dictionary.code(Unit(i, u.text, u.lang) for i, u in enumerate(units)))

    def matches(self, units: Sequence[Unit], codings: Sequence[Coding] | None = None
                ) -> np.ndarray:  # fmt: skip
        """sentences × categories: 1 where the dictionary codes the sentence (``codings``:
        those of ``codings(units)``, made already)."""
        col = {c: j for j, c in enumerate(self.categories)}
        out = np.zeros((len(units), len(self.categories)))
        for c in self.codings(units) if codings is None else codings:
            out[c.unit_id, col[c.category]] = 1.0
        return out

    def context(self, units: Sequence[Unit], pages: Pages | None = None, *,
                matches: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """sentences × categories: the document's dictionary profile, the share of its
        sentences coded with each category. A document's sentences are ``pages[doc]`` when
        given (training: every sentence of a page, not only the labelled ones), else the
        sentences of this batch that share its ``doc`` (their rows of ``matches`` when
        given); a sentence without one gets zeros."""
        out = np.zeros((len(units), len(self.categories)))
        batch: dict[str, list[int]] = {}
        for i, u in enumerate(units):
            if u.doc:
                batch.setdefault(u.doc, []).append(i)
        given = {d: list(pages[d]) for d in batch if d in pages} if pages is not None else {}
        if matches is not None:  # the batch's own documents: their rows are known
            for doc in batch.keys() - given.keys():
                out[batch[doc]] = matches[batch[doc]].mean(axis=0)
            page_of = given
        else:
            page_of = {d: [units[i] for i in batch[d]] for d in batch if d not in given} | given
        flat = [p for page in page_of.values() for p in page]
        hits = self.matches(flat) if flat else np.zeros((0, len(self.categories)))
        at = 0
        for doc, page in page_of.items():  # one dictionary pass above, sliced per document
            if page:
                out[batch[doc]] = hits[at : at + len(page)].mean(axis=0)
            at += len(page)
        return out

    def transform(
        self, units: Sequence[Unit], *, matches: np.ndarray | None = None,
        pages: Pages | None = None,
    ) -> sparse.csr_matrix:  # fmt: skip
        """The feature matrix of ``units`` (``matches``: their ``matches(units)``, made
        already; the dictionary then runs only over ``pages`` the batch does not hold)."""
        parts: list[sparse.spmatrix] = []
        if "lexical" in self.blocks:
            # a lone surrogate becomes "?": the hashing encodes text as UTF-8
            prepared = [
                self.dictionary.prepare(u.text).encode("utf-8", "replace").decode("utf-8")
                for u in units
            ]
            parts += [self._words.transform(prepared), self._chars.transform(prepared)]
        if matches is None and {"dictionary", "context"} & set(self.blocks):
            matches = self.matches(units)
        if "dictionary" in self.blocks:
            assert matches is not None
            parts.append(sparse.csr_matrix(matches * 2.0))  # on the scale of a unit vector's parts
        if "context" in self.blocks:
            parts.append(sparse.csr_matrix(self.context(units, pages, matches=matches) * 2.0))
        if "embedding" in self.blocks:
            vectors = embed([u.text for u in units], model=self.model, cache=self.cache)
            parts.append(sparse.csr_matrix(vectors * self.embedding_weight))
        if not parts:
            return sparse.csr_matrix((len(units), 0))
        return sparse.hstack(parts, format="csr")


def available_blocks() -> tuple[str, ...]:
    """The default blocks (every one of them needs only the core dependencies)."""
    return DEFAULT_BLOCKS
