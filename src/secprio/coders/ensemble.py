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

``cross_predict`` runs the honest evaluation: each coder predicts every gold sentence from a
model that never saw it (k folds over gold sentences, fixed seed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from secprio import __version__
from secprio.codebook.model import Codebook
from secprio.coders.base import Coding, Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.coders.embed import CACHE_NAME, DEFAULT_MODEL, model_version
from secprio.coders.semantic import SemanticCoder, best_threshold
from secprio.coders.supervised import Examples, SupervisedCoder, combine, describe, training_data
from secprio.errors import CoderError

if TYPE_CHECKING:
    from secprio.project import Project

WEIGHTS_FORMAT = 1
SIGNALS = ("dictionary", "semantic", "supervised")
MIN_GOLD = 30  # sentences: below this a fitted combination is noise, so the coders vote
CODERS = ("dictionary", "semantic", "supervised", "ensemble")


class EnsembleCoder:
    name = "ensemble"

    def __init__(
        self,
        codebook: Codebook,
        *,
        model: str = DEFAULT_MODEL,
        cache: Path | str | None = None,
        folds: int = 5,
        random_state: int = 0,
        semantic: SemanticCoder | None = None,
        features: Sequence[str] | None = None,
    ) -> None:
        self.codebook, self.model, self.cache = codebook, model, cache
        self.features = tuple(features) if features is not None else None  # supervised part's
        self.folds, self.random_state = folds, random_state
        self.categories = codebook.ids()
        self.dictionary = DictionaryCoder(codebook)
        self.semantic = semantic or SemanticCoder(codebook, model=model, cache=cache)
        self.version = f"{__version__}+{model_version(model)}+untrained"

    def _supervised(self) -> SupervisedCoder:
        return SupervisedCoder(
            self.codebook, model=self.model, cache=self.cache, features=self.features,
            random_state=self.random_state,
        )  # fmt: skip

    def fit(
        self, base: Examples, gold: Examples | None = None, *,
        supervised: SupervisedCoder | None = None,
    ) -> EnsembleCoder:  # fmt: skip
        """Train on ``base`` (codebook examples, human codings); calibrate on ``gold``.
        ``supervised``: a fitted supervised coder to use as the third signal (e.g. the pack's
        shipped model) instead of one trained on ``base`` and ``gold``."""
        if not self.semantic.fitted_:
            self.semantic.fit()
        base = base.without(gold.texts) if gold is not None else base
        self.coef_: np.ndarray | None = None
        self.intercept_ = 0.0
        self.thresholds_ = np.full(len(self.categories), 0.5)
        if gold is not None and len(gold) >= MIN_GOLD and self.folds >= 2:
            self.cross_calibrate(base, gold)
            base = combine(base, gold)
        self.supervised_ = supervised or self._supervised().fit(base)
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
            sup = self._supervised().fit(combine(base, gold.take(tr)))
            oof[te] = sup.predict_proba(gold.take(te).units(), gold.pages)
        return self.calibrate(gold, oof)

    def calibrate(self, gold: Examples, supervised: np.ndarray) -> EnsembleCoder:
        """Learn the three signals' weights and each category's threshold from ``gold`` and
        the supervised coder's out-of-fold probabilities of its sentences."""
        if not self.semantic.fitted_:
            self.semantic.fit()
        dic, _ = self.dictionary_scores(gold.texts, gold.langs)
        sem = self.semantic.proba(gold.texts)
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
                                  f"{MIN_GOLD} sentences")  # fmt: skip
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
            raise CoderError(f"cannot read ensemble weights: {exc}", path=path, hint=fix) from None
        if meta.get("format") != WEIGHTS_FORMAT or meta.get("categories") != codebook.ids():
            raise CoderError("the weights were trained for other categories", path=path, hint=fix)
        if codebook.sha256 and meta.get("codebook_sha256") not in ("", codebook.sha256):
            what = "the weights were trained with another version of the codebook"
            raise CoderError(what, path=path, hint=fix)
        coder = cls(codebook, model=str(meta["model"]), cache=cache)
        coder.semantic.fit()
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
                sem >= self.semantic.thresholds_,
                sup >= self.supervised_.thresholds_,
            ]
            return np.mean(votes, axis=0) * 0.5 / (2 / 3)  # two votes of three -> 0.5
        z = _features(dic, sem, sup) @ self.coef_ + self.intercept_
        return (1.0 / (1.0 + np.exp(-z))).reshape(dic.shape)

    def components(self, texts: Sequence[str], langs: Sequence[str]) -> dict[str, np.ndarray]:
        dic, _ = self.dictionary_scores(texts, langs)
        sem, sup = self.semantic.proba(texts), self.supervised_.proba(texts, langs)
        return {
            "dictionary": dic,
            "semantic": sem,
            "supervised": sup,
            "ensemble": self._combine(dic, sem, sup),
        }

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        units = list(units)
        if not units:
            return
        texts, langs = [u.text for u in units], [u.lang for u in units]
        dic, matches = self.dictionary_scores(texts, langs)
        sem, sup = self.semantic.proba(texts), self.supervised_.predict_proba(units)
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


def from_project(project: Project) -> EnsembleCoder:
    """The project's ensemble. Its supervised part is the supervised coder the project would
    use (the pack's shipped model, retrained with the project's human codings if any). It is
    calibrated on the project's own gold file when there is one; else it uses the combination
    a pack ships (calibrated on real labelled sentences); else the three coders vote. A pack's
    synthetic gold set is never used to calibrate: it is not the language of real documents."""
    from secprio.coders import supervised as sup
    from secprio.exchange.gold import locate, read

    model = project.settings.measure.embedding or DEFAULT_MODEL
    cache = project.root / CACHE_NAME
    signal = sup.from_project(project)
    path = locate(project, pack=False)
    weights = sup.shipped(project, "ensemble")
    if path is None and weights is not None:  # its semantic part: the model it was fitted with
        return EnsembleCoder.load(weights, project.codebook, supervised=signal, cache=cache)
    coder = EnsembleCoder(
        project.codebook, model=model, cache=cache, random_state=project.settings.measure.seed,
        features=signal.features,
    )  # fmt: skip
    if path is None:
        return coder.fit(sup.codebook_examples(project.codebook), supervised=signal)
    cats = project.codebook.ids()
    base = combine(sup.codebook_examples(project.codebook), sup.human_examples(project))
    return coder.fit(base, sup.gold_examples(read(path, categories=cats), cats))


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
    """Each coder's 0/1 predictions on the gold sentences, none from a model that saw them.

    Dictionary and semantic coders learn nothing from gold and code every sentence directly.
    The supervised coder and the ensemble are refitted per fold of the gold sentences: trained
    (and, for the ensemble, calibrated) on the other folds plus ``base`` — from which the
    fold's sentences are removed too — and evaluated on the fold.
    """
    semantic = SemanticCoder(codebook, model=model, cache=cache)
    ens = EnsembleCoder(codebook, model=model, cache=cache, random_state=seed, semantic=semantic)
    shape = gold.labels.shape
    out = {name: np.zeros(shape, dtype=bool) for name in coders}
    if "dictionary" in coders:
        out["dictionary"] = ens.dictionary_scores(gold.texts, gold.langs)[0] >= 0.5
    if "semantic" in coders:
        out["semantic"] = semantic.proba(gold.texts) >= semantic.fit().thresholds_
    if not {"supervised", "ensemble"} & set(coders):
        return out
    split = KFold(folds, shuffle=True, random_state=seed)
    for tr, te in split.split(np.arange(len(gold))):
        test = gold.take(te)
        train_base = base.without(test.texts)
        if "supervised" in coders:
            sup = SupervisedCoder(codebook, model=model, cache=cache, random_state=seed)
            sup.fit(combine(train_base, gold.take(tr)))
            out["supervised"][te] = sup.predict_proba(test.units(), test.pages) >= sup.thresholds_
        if "ensemble" in coders:
            ens.fit(train_base, gold.take(tr))
            out["ensemble"][te] = ens.components(test.texts, test.langs)["ensemble"] >= (
                ens.thresholds_
            )
    return out


def project_base(project: Project, *, exclude: Iterable[str] = ()) -> Examples:
    """Training data without the gold file: codebook examples and store human codings."""
    from secprio.coders.supervised import codebook_examples, human_examples

    return combine(codebook_examples(project.codebook), human_examples(project)).without(exclude)


__all__ = [
    "CACHE_NAME",
    "CODERS",
    "EnsembleCoder",
    "cross_predict",
    "from_project",
    "project_base",
    "training_data",
]
