"""Sentence features for the coders that learn: words, the dictionary's verdicts, embeddings.

Three blocks, each optional, stacked into one sparse matrix:

* ``lexical`` — hashed word uni- and bigrams and character 3–5-grams of the text as the
  dictionary sees it (normalized, Cyrillic transliterated, titles blanked). Hashing keeps no
  vocabulary, so a model trained on third-party sentences ships as weights alone; character
  n-grams catch Turkic suffixes and Russian inflection without a stemmer.
* ``dictionary`` — one 0/1 column per category: did an affirmed codebook pattern match. The
  model learns where the codebook's word lists are right and where real text says otherwise.
* ``embedding`` — multilingual sentence embeddings (embed.py), when the ``semantic`` extra is
  installed: they carry a label given to an English sentence to its paraphrases elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from secprio.codebook.model import Codebook
from secprio.coders.base import Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.coders.embed import embed

BLOCKS = ("lexical", "dictionary", "embedding")
# embeddings are opt-in: e5 codes ~20 sentences/s here, the other blocks thousands (see
# docs/coders.md for what they add on real text)
DEFAULT_BLOCKS = ("lexical", "dictionary")
HASH_BITS = 15  # 32,768 columns per analyzer: few collisions at a few thousand sentences


class Featurizer:
    """Turns sentences into the feature matrix the supervised coder and ensemble learn on."""

    def __init__(
        self, codebook: Codebook, *, blocks: Sequence[str] = BLOCKS, model: str = "e5",
        cache: Path | str | None = None,
    ) -> None:  # fmt: skip
        unknown = sorted(set(blocks) - set(BLOCKS))
        if unknown:
            raise ValueError(f"unknown feature block {unknown[0]!r}; use {', '.join(BLOCKS)}")
        self.codebook, self.blocks, self.model, self.cache = codebook, tuple(blocks), model, cache
        self.dictionary = DictionaryCoder(codebook)
        self.categories = codebook.ids()
        common = {"n_features": 1 << HASH_BITS, "alternate_sign": False, "lowercase": False}
        self._words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), **common)
        self._chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)

    def matches(self, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """sentences × categories: 1 where the dictionary codes the sentence."""
        col = {c: j for j, c in enumerate(self.categories)}
        out = np.zeros((len(texts), len(self.categories)))
        units = [Unit(i, t, lang) for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
        for c in self.dictionary.code(units):
            out[c.unit_id, col[c.category]] = 1.0
        return out

    def transform(
        self, texts: Sequence[str], langs: Sequence[str], *, matches: np.ndarray | None = None
    ) -> sparse.csr_matrix:
        parts: list[sparse.spmatrix] = []
        if "lexical" in self.blocks:
            prepared = [self.dictionary.prepare(t) for t in texts]
            parts += [self._words.transform(prepared), self._chars.transform(prepared)]
        if "dictionary" in self.blocks:
            hits = self.matches(texts, langs) if matches is None else matches
            parts.append(sparse.csr_matrix(hits * 2.0))  # on the scale of a unit vector's parts
        if "embedding" in self.blocks:
            parts.append(sparse.csr_matrix(embed(list(texts), model=self.model, cache=self.cache)))
        if not parts:
            return sparse.csr_matrix((len(texts), 0))
        return sparse.hstack(parts, format="csr")


def available_blocks() -> tuple[str, ...]:
    """The default blocks (every one of them needs only the core dependencies)."""
    return DEFAULT_BLOCKS
