"""The semantic coder: sentence embeddings compared with each category's prototypes.

A category's prototypes are its definition (with its label) and its positive examples, in any
language: the embedding models are multilingual, so a Kazakh sentence can be near an English
example. A sentence's raw score for a category is the mean of two cosines: with the
definition, and the mean of its three nearest positive examples (one example alone is too
easily matched by a sentence that shares a name; the definition alone is too abstract).

Raw cosines are not probabilities and their scale differs by category, so each category is
calibrated on the codebook's own examples, leave-one-out (an example is never compared with
itself): a logistic (Platt) curve turns the raw score into a probability, and the threshold
is the probability that maximizes F1 over those examples. Held-out examples are never used.
That calibration is the coder's ``fit``: it learns nothing from the units and labels it is
given (``learns = False``), which it accepts and ignores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from secprio import __version__
from secprio.codebook.model import Codebook
from secprio.coders.base import BaseCoder, Coding, Unit, check_labels
from secprio.coders.embed import DEFAULT_MODEL, embed, model_version
from secprio.errors import CoderError

K_NEAREST = 3


def best_threshold(prob: np.ndarray, truth: np.ndarray, *, tolerance: float = 0.01) -> float:
    """The threshold with the best F1; among near-ties, the one closest to 0.5 (less noisy)."""
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    f1 = np.array([_f1(prob >= t, truth) for t in grid])
    ok = grid[f1 >= f1.max() - tolerance]
    return float(ok[np.argmin(np.abs(ok - 0.5))])


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    denom = pred.sum() + truth.sum()
    return float(2 * (pred & truth).sum() / denom) if denom else 0.0


class SemanticCoder(BaseCoder):
    """Codes a sentence with every category whose calibrated probability passes its threshold."""

    name = "semantic"
    learns = False  # calibrated on the codebook's own examples, whatever fit is given
    requires_fit = True

    def __init__(
        self,
        codebook: Codebook,
        *,
        model: str = DEFAULT_MODEL,
        cache: Path | str | None = None,
        batch: int = 64,
    ) -> None:
        self.codebook, self.model, self.cache, self.batch = codebook, model, cache, batch
        sha = codebook.sha256 or hashlib.sha256(repr(codebook).encode()).hexdigest()
        self.version = f"{__version__}+{sha[:12]}+{model_version(model)}"
        self.categories = codebook.ids()

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return embed(texts, model=self.model, batch=self.batch, cache=self.cache)

    def fit(self, units: Sequence[Unit] = (), labels: Any = None) -> SemanticCoder:
        """Embed the prototypes and calibrate each category on the codebook's examples.
        ``units`` and ``labels`` are checked and ignored: this coder learns from its
        codebook only."""
        check_labels(self, units, labels)
        cats = self.codebook.categories
        texts = [e.text for c in cats for e in c.positive]
        owner = [j for j, c in enumerate(cats) for _ in c.positive]
        negatives = [e.text for c in cats for e in c.negative]
        if not texts:
            raise CoderError(
                "the codebook has no positive examples",
                hint="add examples.positive to each category (docs/formats.md)",
                code="E307",
            )
        self.examples_ = texts
        self.owner_ = np.array(owner)
        self.protos_ = self._embed(texts)
        self.defs_ = self._embed([f"{c.label}: {c.definition}" for c in cats])
        train = np.vstack([self.protos_, self._embed(negatives)]) if negatives else self.protos_
        truth = np.zeros((len(train), len(cats)), dtype=bool)
        truth[np.arange(len(texts)), self.owner_] = True
        raw, _, _ = self._raw(train, leave_out=len(texts))
        self.platt_ = [self._platt(raw[:, j], truth[:, j]) for j in range(len(cats))]
        prob = self._calibrate(raw)
        self.thresholds_ = np.array(
            [best_threshold(prob[:, j], truth[:, j]) for j in range(len(cats))]
        )
        return self

    @staticmethod
    def _platt(raw: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
        if truth.all() or not truth.any():
            return 0.0, -10.0  # nothing to learn from: never code this category
        lr = LogisticRegression(C=100.0).fit(raw[:, None], truth)
        return float(lr.coef_[0, 0]), float(lr.intercept_[0])

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        a = np.array([p[0] for p in self.platt_])
        b = np.array([p[1] for p in self.platt_])
        return 1.0 / (1.0 + np.exp(-(raw * a + b)))

    def _raw(
        self, vecs: np.ndarray, *, leave_out: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw scores, nearest example index and its cosine, per (sentence, category).

        The first ``leave_out`` rows of ``vecs`` are the prototypes themselves: their
        self-similarity is masked so that calibration is leave-one-out.
        """
        sims = vecs @ self.protos_.T
        if leave_out:
            sims[np.arange(leave_out), np.arange(leave_out)] = -np.inf
        n, k = len(vecs), len(self.defs_)
        raw, nearest, near_sim = np.zeros((n, k)), np.zeros((n, k), int), np.zeros((n, k))
        for j in range(k):
            cols = np.flatnonzero(self.owner_ == j)
            if cols.size == 0:
                raw[:, j] = -1.0
                continue
            part = sims[:, cols]
            order = np.argsort(-part, axis=1)[:, :K_NEAREST]
            top = np.take_along_axis(part, order, axis=1)
            top = np.where(np.isfinite(top), top, np.nan)
            raw[:, j] = 0.5 * np.nanmean(top, axis=1) + 0.5 * (vecs @ self.defs_[j])
            nearest[:, j] = cols[order[:, 0]]
            near_sim[:, j] = top[:, 0]
        return raw, nearest, near_sim

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, sentences × categories (codebook order)."""
        self.check_fitted()
        if not len(texts):
            return np.zeros((0, len(self.categories)))
        raw, _, _ = self._raw(self._embed(texts))
        return self._calibrate(raw)

    def predict_proba(self, units: Sequence[Unit]) -> np.ndarray:
        return self.proba([u.text for u in units])

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        self.check_fitted()
        units = list(units)
        if not units:
            return
        raw, nearest, near_sim = self._raw(self._embed([u.text for u in units]))
        prob = self._calibrate(raw)
        mv = model_version(self.model)
        for i, j in zip(*np.nonzero(prob >= self.thresholds_), strict=True):
            example = self.examples_[nearest[i, j]]
            yield Coding(
                units[i].id,
                self.categories[j],
                self.name,
                self.version,
                confidence=round(float(prob[i, j]), 6),
                pattern=example,
                evidence={
                    "score": round(float(raw[i, j]), 6),
                    "probability": round(float(prob[i, j]), 6),
                    "threshold": float(self.thresholds_[j]),
                    "nearest_example": example,
                    "similarity": round(float(near_sim[i, j]), 6),
                    "model": mv,
                },
            )
