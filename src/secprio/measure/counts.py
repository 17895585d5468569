"""Per-document counts: what the document-level analyses need of a corpus, in memory that grows
with the number of documents, not of sentences.

A document's sentences share its metadata and its weight (by document type), and every
statistic of the scores, comparisons, windows, trends, expert correlations and robustness is a
sum over documents of its weighted sentence totals. So one row per document (its metadata,
``n_sentences`` and ``weight``) and a documents × categories matrix of coded sentences
(``DocCounts``) give the same numbers as the sentences and codings themselves.
``totals`` adds a document's weights one sentence at a time (``repeated_sum``), so its
per-document totals are those of ``doc_totals`` over the sentence rows, bit for bit.

The report and the CLI read the counts from the store (``Project.document_counts``, by SQL
aggregation and the codings streamed in batches); ``from_sentences`` makes them from the
frames a notebook passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from secprio.measure.scores import coded_matrix, repeated_sum


@dataclass(frozen=True)
class DocCounts:
    """``documents``: one row per document with sentences, in ``document_id`` order, with
    ``n_sentences``, ``weight`` and the metadata columns (date, year, period, doc_type, issuer,
    members, language, …); ``coded``: documents × ``categories``, the document's sentences
    whose effective coding of that category is 1."""

    documents: pd.DataFrame
    coded: np.ndarray
    categories: tuple[str, ...]

    def matrix(self, categories: Sequence[str]) -> np.ndarray:
        """The coded counts of these categories (columns in that order)."""
        col = {c: i for i, c in enumerate(self.categories)}
        return self.coded[:, [col[c] for c in categories]]

    def select(self, mask: np.ndarray | pd.Series) -> DocCounts:
        """The documents where ``mask`` holds."""
        keep = np.asarray(mask, dtype=bool)
        docs = self.documents[keep].reset_index(drop=True)
        return DocCounts(docs, self.coded[keep], self.categories)

    @property
    def n_sentences(self) -> np.ndarray:
        return self.documents["n_sentences"].to_numpy(dtype=np.int64)

    @property
    def weights(self) -> np.ndarray:
        return self.documents["weight"].to_numpy(dtype=float)

    def totals(
        self, categories: Sequence[str], weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per document: the weighted sentence total ``W`` (D,) and coded totals ``C`` (D, K)
        of ``categories`` — ``doc_totals`` of its sentence rows, bit for bit (``weights``:
        per document, instead of the documents' own)."""
        w = self.weights if weights is None else np.asarray(weights, dtype=float)
        m = self.matrix(categories)
        k = m.shape[1]
        w_tot = repeated_sum(w, self.n_sentences)
        c_tot = repeated_sum(np.repeat(w, k), m.ravel()).reshape(len(w), k)
        return w_tot, c_tot


def from_sentences(
    sentences: pd.DataFrame, codings: pd.DataFrame, categories: Sequence[str]
) -> DocCounts:
    """The counts of a sentence frame (with its documents' metadata and ``weight``) and its
    effective codings: what ``Project.document_counts`` reads from the store."""
    cats = tuple(categories)
    coded = coded_matrix(sentences, codings, cats)
    ids = sentences["document_id"].to_numpy()
    uniq, first, index = np.unique(ids, return_index=True, return_inverse=True)
    per_doc = np.zeros((len(uniq), len(cats)), dtype=np.int64)
    np.add.at(per_doc, index.ravel(), coded.astype(np.int64))
    drop = ["segment_id", "idx", "paragraph", "start", "end", "text"]
    docs = sentences.iloc[first].drop(columns=[c for c in drop if c in sentences.columns])
    docs = docs.reset_index(drop=True)
    docs["n_sentences"] = np.bincount(index.ravel(), minlength=len(uniq)).astype(np.int64)
    return DocCounts(docs, per_doc, cats)
