"""The ensemble: dictionary, semantic and supervised coders combined, calibrated on a gold set.

Three signals per (sentence, category): the dictionary's match (0/1), the semantic coder's
calibrated probability and the supervised coder's. With a gold set, a logistic regression
pooled over categories learns how much each signal is worth (three weights: few enough for a
few hundred sentences), and each category gets the threshold on the combined probability that
maximizes its F1 on the gold set. The supervised signal used for that fit is *cross-fitted*:
for each fold of the gold set, a supervised model trained without that fold scores it, so the
weights and thresholds are learned from scores like those the coder will meet on new text,
not from scores on its own training sentences (folds by document where the sentences have
one). The fitted combination can be saved and shipped (``save``/``load``; a pack's
``weights/ensemble.npz``, calibrated on real labelled sentences by scripts/train_ots.py).
Without a gold set or shipped weights the three coders vote and a category needs two of three.

``fit(units, labels)`` calibrates on the labelled ``units`` (and trains the supervised part
on them, with ``base=``'s sentences too); ``fit_examples(base, gold)`` is the same on Examples.

``cross_predict`` runs the honest evaluation: each coder predicts every gold sentence from a
model that never saw it (k folds over gold sentences, fixed seed; coders/crossfit.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from secprio import __version__
from secprio.codebook.model import Codebook
from secprio.coders.base import BaseCoder, Coder, Coding, Unit, check_labels
from secprio.coders.dictionary import DictionaryCoder
from secprio.coders.embed import DEFAULT_MODEL, model_version
from secprio.coders.features import Pages
from secprio.coders.semantic import SemanticCoder, best_threshold
from secprio.coders.supervised import (
    Examples,
    SupervisedCoder,
    codebook_examples,
    combine,
    describe,
)
from secprio.errors import CoderError

WEIGHTS_FORMAT = 1
SIGNALS = ("dictionary", "semantic", "supervised")
MIN_GOLD = 30  # sentences: below this a fitted combination is noise, so the coders vote
CODERS = ("dictionary", "semantic", "supervised", "ensemble")


class EnsembleCoder(BaseCoder):
    name = "ensemble"
    learns = True
    requires_fit = True

    def __init__(
        self,
        codebook: Codebook,
        *,
        model: str = DEFAULT_MODEL,
        cache: Path | str | None = None,
        folds: int = 5,
        random_state: int = 0,
        features: Sequence[str] | None = None,
    ) -> None:
        self.codebook, self.model, self.cache = codebook, model, cache
        self.features = features  # the supervised part's (None: its default)
        self.folds, self.random_state = folds, random_state
        self.categories = codebook.ids()
        self.dictionary = DictionaryCoder(codebook)  # learns nothing: built with the coder
        self.version = f"{__version__}+{model_version(model)}+untrained"

    def _supervised(self) -> SupervisedCoder:
        return SupervisedCoder(
            self.codebook, model=self.model, cache=self.cache, features=self.features,
            random_state=self.random_state,
        )  # fmt: skip

    @property
    def semantic_(self) -> SemanticCoder:
        """The semantic part, fitted once: it depends on the codebook and model alone, so a
        refit (each fold of a cross-validation) reuses it."""
        if self._semantic is None:
            self._semantic = SemanticCoder(self.codebook, model=self.model, cache=self.cache)
            self._semantic.fit()
        return self._semantic

    _semantic: SemanticCoder | None = None

    def fit(
        self, units: Sequence[Unit] = (), labels: Any = None, *, pages: Pages | None = None,
        base: Examples | None = None, supervised: SupervisedCoder | None = None,
    ) -> EnsembleCoder:  # fmt: skip
        """Calibrate on the labelled ``units`` (at least MIN_GOLD of them, else the coders
        vote) and train the supervised part on them and on ``base`` (default: the codebook's
        examples; human codings may join them). ``supervised``: a fitted supervised coder to
        use as the third signal (e.g. the pack's shipped model) instead."""
        check_labels(self, units, labels)
        gold = Examples.of(units, labels, pages=pages) if labels is not None else None
        base = codebook_examples(self.codebook) if base is None else base
        return self.fit_examples(base, gold, supervised=supervised)

    def fit_examples(
        self, base: Examples, gold: Examples | None = None, *,
        supervised: SupervisedCoder | None = None,
    ) -> EnsembleCoder:  # fmt: skip
        """Train on ``base`` (codebook examples, human codings); calibrate on ``gold``.
        ``supervised``: a fitted supervised coder to use as the third signal (e.g. the pack's
        shipped model) instead of one trained on ``base`` and ``gold``."""
        base = base.without(gold.texts) if gold is not None else base
        self.coef_: np.ndarray | None = None
        self.intercept_ = 0.0
        self.thresholds_ = np.full(len(self.categories), 0.5)
        if gold is not None and len(gold) >= MIN_GOLD and self.folds >= 2:
            self.cross_calibrate(base, gold)
            base = combine(base, gold)
        self.supervised_ = supervised or self._supervised().fit_examples(base)
        blob = base.fingerprint() + (gold.fingerprint() if gold is not None else "")
        blob += self.supervised_.version if supervised is not None else ""
        digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
        self.version = f"{__version__}+{model_version(self.model)}+{digest}"
        self.n_gold_ = len(gold) if gold is not None else 0
        self.trained_on_ = self._trained_on(gold)
        return self

    def _trained_on(self, gold: Examples | None) -> str:
        how = (
            f"combined by weights calibrated on {describe(gold)}"
            if self.coef_ is not None and gold is not None
            else "combined by a two-of-three vote (no gold set to calibrate on)"
        )
        return f"{how}; supervised part: {self.supervised_.trained_on_}"

    def cross_calibrate(self, base: Examples, gold: Examples) -> EnsembleCoder:
        """Calibrate on ``gold`` with cross-fitted supervised scores of its sentences: each fold
        (by document where they have one) is scored by a model trained on ``base`` and the other
        folds, never by one that saw the page."""
        oof = np.zeros(gold.labels.shape)
        for tr, te in _folds(gold, self.folds, self.random_state):
            sup = self._supervised().fit_examples(combine(base, gold.take(tr)))
            oof[te] = sup.predict_proba(gold.take(te).units(), gold.pages)
        return self.calibrate(gold, oof)

    def calibrate(self, gold: Examples, supervised: np.ndarray) -> EnsembleCoder:
        """Learn the three signals' weights and each category's threshold from ``gold`` and
        the supervised coder's out-of-fold probabilities of its sentences."""
        dic, _ = self.dictionary_scores(gold.texts, gold.langs)
        sem = self.semantic_.proba(gold.texts)
        stack = LogisticRegression(C=1.0).fit(_features(dic, sem, supervised), gold.labels.ravel())
        self.coef_, self.intercept_ = stack.coef_[0].copy(), float(stack.intercept_[0])
        combined = self._combine(dic, sem, supervised)
        self.thresholds_ = np.array(
            [best_threshold(combined[:, j], gold.labels[:, j]) for j in range(len(self.categories))]
        )
        self.weights_ = dict(zip(SIGNALS, self.coef_.round(4).tolist(), strict=True))
        self.n_gold_ = len(gold)
        return self

    def save(self, path: Path | str, *, trained_on: str) -> Path:
        """The combination's weights and thresholds (no sentence): to ship beside the
        supervised coder's weights, which stay a file of their own."""
        coef = getattr(self, "coef_", None)
        if coef is None:
            raise CoderError("the ensemble has no calibrated weights to save",
                             hint="fit it with a gold set of at least "
                                  f"{MIN_GOLD} sentences", code="E323")  # fmt: skip
        path = Path(path)
        meta = {
            "format": WEIGHTS_FORMAT, "categories": self.categories, "model": self.model,
            "embedding": model_version(self.model), "codebook_sha256": self.codebook.sha256,
            "n_gold": self.n_gold_, "trained_on": trained_on,
        }  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), coef=coef,
                     intercept=np.array([self.intercept_]),
                     thresholds=self.thresholds_)  # fmt: skip
        return path

    @classmethod
    def load(
        cls, path: Path | str, codebook: Codebook, *, supervised: SupervisedCoder,
        cache: Path | str | None = None,
    ) -> EnsembleCoder:  # fmt: skip
        """An ensemble from saved weights, with ``supervised`` as its third signal."""
        path = Path(path)
        fix = "retrain them: scripts/train_ots.py DOCS_DIR"
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                coef, intercept = data["coef"], float(data["intercept"][0])
                thresholds = data["thresholds"]
        except (OSError, ValueError, KeyError, IndexError) as exc:
            raise CoderError(
                f"cannot read ensemble weights: {exc}", path=path, hint=fix, code="E322"
            ) from None
        if meta.get("format") != WEIGHTS_FORMAT or meta.get("categories") != codebook.ids():
            raise CoderError(
                "the weights were trained for other categories", path=path, hint=fix, code="E321"
            )
        if codebook.sha256 and meta.get("codebook_sha256") not in ("", codebook.sha256):
            what = "the weights were trained with another version of the codebook"
            raise CoderError(what, path=path, hint=fix, code="E308")
        coder = cls(codebook, model=str(meta["model"]), cache=cache)
        coder.coef_, coder.intercept_, coder.thresholds_ = coef, intercept, thresholds
        coder.weights_ = dict(zip(SIGNALS, coef.round(4).tolist(), strict=True))
        coder.supervised_, coder.n_gold_ = supervised, int(meta["n_gold"])
        coder.trained_on_ = f"{meta['trained_on']}; supervised part: {supervised.trained_on_}"
        digest = hashlib.sha256(path.read_bytes() + supervised.version.encode()).hexdigest()
        coder.version = f"{__version__}+{model_version(coder.model)}+{digest[:12]}"
        return coder

    def dictionary_scores(
        self, texts: Sequence[str], langs: Sequence[str]
    ) -> tuple[np.ndarray, dict[tuple[int, int], Coding]]:
        """0/1 matches, and the dictionary's coding (pattern and span) of each match."""
        col = {c: j for j, c in enumerate(self.categories)}
        out = np.zeros((len(texts), len(self.categories)))
        matches: dict[tuple[int, int], Coding] = {}
        units = [Unit(i, t, lang) for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
        for c in self.dictionary.code(units):
            out[c.unit_id, col[c.category]] = 1.0
            matches[(c.unit_id, col[c.category])] = c
        return out, matches

    def _combine(self, dic: np.ndarray, sem: np.ndarray, sup: np.ndarray) -> np.ndarray:
        if self.coef_ is None:  # no gold set: the share of the three coders that say yes
            votes = [
                dic >= 0.5,
                sem >= self.semantic_.thresholds_,
                sup >= self.supervised_.thresholds_,
            ]
            return np.mean(votes, axis=0) * 0.5 / (2 / 3)  # two votes of three -> 0.5
        z = _features(dic, sem, sup) @ self.coef_ + self.intercept_
        return (1.0 / (1.0 + np.exp(-z))).reshape(dic.shape)

    def components(self, texts: Sequence[str], langs: Sequence[str]) -> dict[str, np.ndarray]:
        self.check_fitted()
        dic, _ = self.dictionary_scores(texts, langs)
        sem, sup = self.semantic_.proba(texts), self.supervised_.proba(texts, langs)
        return {
            "dictionary": dic,
            "semantic": sem,
            "supervised": sup,
            "ensemble": self._combine(dic, sem, sup),
        }

    def is_fitted(self) -> bool:
        return "supervised_" in vars(self)

    def _scores(self, units: Sequence[Unit]) -> tuple[np.ndarray, ...]:
        texts, langs = [u.text for u in units], [u.lang for u in units]
        dic, _ = self.dictionary_scores(texts, langs)
        sem, sup = self.semantic_.proba(texts), self.supervised_.predict_proba(units)
        return dic, sem, sup, self._combine(dic, sem, sup)

    def predict_proba(self, units: Sequence[Unit]) -> np.ndarray:
        """The combined probability, units × categories."""
        self.check_fitted()
        units = list(units)
        if not units:
            return np.zeros((0, len(self.categories)))
        return self._scores(units)[3]

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        self.check_fitted()
        units = list(units)
        if not units:
            return
        texts, langs = [u.text for u in units], [u.lang for u in units]
        dic, matches = self.dictionary_scores(texts, langs)
        sem, sup = self.semantic_.proba(texts), self.supervised_.predict_proba(units)
        comb = self._combine(dic, sem, sup)
        for i, j in zip(*np.nonzero(comb >= self.thresholds_), strict=True):
            match = matches.get((i, j))  # its span lets the report highlight the words
            yield Coding(
                units[i].id,
                self.categories[j],
                self.name,
                self.version,
                confidence=round(float(comb[i, j]), 6),
                pattern=match.pattern if match else "",
                start=match.start if match else -1,
                end=match.end if match else -1,
                evidence={
                    "score": round(float(comb[i, j]), 6),
                    "threshold": float(self.thresholds_[j]),
                    "dictionary": match.pattern if match else None,
                    "semantic": round(float(sem[i, j]), 6),
                    "supervised": round(float(sup[i, j]), 6),
                    "spans": match.evidence.get("spans", []) if match else [],
                    "n_gold": self.n_gold_,
                    "model": model_version(self.model),
                },
            )


def _folds(gold: Examples, folds: int, seed: int) -> Iterator[tuple[list[int], list[int]]]:
    """Folds over the gold sentences: grouped by document where every sentence has one."""
    rows = np.arange(len(gold))
    docs = gold.docs if gold.docs and all(gold.docs) else []
    if docs and len(set(docs)) >= folds:
        split = GroupKFold(folds).split(rows, groups=docs)
    else:
        split = KFold(folds, shuffle=True, random_state=seed).split(rows)
    for tr, te in split:
        yield tr.tolist(), te.tolist()


def _features(dic: np.ndarray, sem: np.ndarray, sup: np.ndarray) -> np.ndarray:
    return np.column_stack([dic.ravel(), sem.ravel(), sup.ravel()])


def cross_predict(
    codebook: Codebook,
    gold: Examples,
    *,
    base: Examples,
    coders: Sequence[str] = CODERS,
    model: str = DEFAULT_MODEL,
    cache: Path | str | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Each of secprio's own coders (by name: ``CODERS``), built from plain data, predicting
    the gold sentences with none from a model that saw them: ``crossfit.cross_fit``."""
    from secprio.coders.crossfit import cross_fit

    built: dict[str, Coder] = {
        "dictionary": DictionaryCoder(codebook),
        "semantic": SemanticCoder(codebook, model=model, cache=cache),
        "supervised": SupervisedCoder(codebook, model=model, cache=cache, random_state=seed),
        "ensemble": EnsembleCoder(codebook, model=model, cache=cache, random_state=seed),
    }
    chosen = {name: built[name] for name in coders}
    return cross_fit(chosen, gold, categories=codebook.ids(), base=base, folds=folds, seed=seed)


__all__ = [
    "CODERS",
    "EnsembleCoder",
    "cross_predict",
]
