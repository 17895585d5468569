"""Bootstrap over documents: the document, not the sentence, is the sampled unit."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
# fewer documents than this in a frame or window: a bootstrap over documents has too few
# distinct resamples to say how uncertain the number is, so it is flagged, not shown as sure
MIN_DOCS = 3


def doc_totals(
    doc_index: NDArray[np.int64], weights: Floats, coded: Floats, n_docs: int
) -> tuple[Floats, Floats]:
    """Per-document weighted sentence totals ``W`` (D,) and coded totals ``C`` (D, K)."""
    w_tot = np.bincount(doc_index, weights=weights, minlength=n_docs).astype(float)
    c_tot = np.zeros((n_docs, coded.shape[1]))
    np.add.at(c_tot, doc_index, coded * weights[:, None])
    return w_tot, c_tot


def replicates(w_tot: Floats, c_tot: Floats, *, n: int, seed: int, chunk: int = 64) -> Floats:
    """Salience of each category in ``n`` resamples of the documents, shape (n, K)."""
    rng = np.random.default_rng(seed)
    n_docs = len(w_tot)
    out = np.empty((n, c_tot.shape[1]))
    uniform = np.full(n_docs, 1.0 / n_docs)
    for lo in range(0, n, chunk):
        size = min(chunk, n - lo)
        counts = rng.multinomial(n_docs, uniform, size=size).astype(float)  # (size, D)
        denom = counts @ w_tot
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + size] = (counts @ c_tot) / denom[:, None]
    return np.nan_to_num(out)


def interval(samples: Floats, level: float = 0.95) -> tuple[Floats, Floats]:
    """Percentile interval along the first axis."""
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail], axis=0)
    return lo, hi
