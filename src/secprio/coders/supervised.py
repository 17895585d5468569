"""The supervised coder: one calibrated logistic regression per category.

``fit(units, labels)`` trains on labelled sentences; ``base=`` adds sentences that train but
are no sample of the text to code (the codebook's examples). For a project (coders/build.py)
the training data are the codebook's examples (never its held-out ones), the human codings in
the store and the project's gold file. The features (features.py) are hashed words and character
n-grams, the dictionary's verdicts and, with the semantic extra, multilingual sentence
embeddings, so a label given to an English sentence teaches the model about its Turkish and
Kazakh paraphrases too. Classes are weighted to balance the few positives of a category
against everything else, and the probabilities are calibrated (Platt, by cross-validation),
so 0.5 means "as likely as not" and ``suggest`` can rank sentences by uncertainty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from secprio import __version__
from secprio.codebook.model import Codebook
from secprio.coders.base import BaseCoder, Coding, Unit, check_labels
from secprio.coders.embed import DEFAULT_MODEL, model_version
from secprio.coders.features import (
    EMBEDDING_WEIGHT,
    HASH_BITS,
    Featurizer,
    Pages,
    available_blocks,
)
from secprio.coders.semantic import best_threshold
from secprio.errors import CoderError, Hint

if TYPE_CHECKING:
    from secprio.exchange.gold import Gold


@dataclass(frozen=True)
class Examples:
    """Labelled sentences: texts, languages, a sentences × categories 0/1 matrix, origins and,
    for sentences from a document, its key and (in ``pages``) every sentence of that document,
    so that context features see the page as a coder will."""

    texts: list[str]
    langs: list[str]
    labels: np.ndarray
    origin: list[str]
    docs: list[str] = field(default_factory=list)  # "" (or an empty list): on its own
    pages: dict[str, list[Unit]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def of(
        cls, units: Sequence[Unit], labels: Any, *, origin: str = "labelled",
        pages: Pages | None = None,
    ) -> Examples:  # fmt: skip
        """``fit``'s arguments as Examples: each unit's text, language and document."""
        units = list(units)
        return cls(
            [u.text for u in units], [u.lang for u in units],
            np.asarray(labels, dtype=bool).reshape(len(units), -1), [origin] * len(units),
            [u.doc for u in units], {k: list(v) for k, v in (pages or {}).items()},
        )  # fmt: skip

    def units(self) -> list[Unit]:
        docs = self.docs or [""] * len(self)
        rows = zip(self.texts, self.langs, docs, strict=True)
        return [Unit(i, t, lang, d) for i, (t, lang, d) in enumerate(rows)]

    def without(self, texts: Iterable[str]) -> Examples:
        """Drop sentences (by whitespace-normalized text): never train on what is tested."""
        drop = {" ".join(t.split()) for t in texts}
        keep = [i for i, t in enumerate(self.texts) if " ".join(t.split()) not in drop]
        return self.take(keep)

    def take(self, rows: Sequence[int]) -> Examples:
        rows = list(rows)
        return Examples(
            [self.texts[i] for i in rows],
            [self.langs[i] for i in rows],
            self.labels[rows],
            [self.origin[i] for i in rows],
            [self.docs[i] for i in rows] if self.docs else [],
            self.pages,
        )

    def fingerprint(self) -> str:
        blob = json.dumps([self.texts, self.labels.astype(int).tolist()]).encode()
        return hashlib.sha256(blob).hexdigest()


def combine(*parts: Examples) -> Examples:
    """Concatenate; a sentence given twice keeps the union of its categories."""
    seen: dict[str, int] = {}
    texts: list[str] = []
    langs: list[str] = []
    origin: list[str] = []
    docs: list[str] = []
    pages: dict[str, list[Unit]] = {}
    rows: list[np.ndarray] = []
    for part in parts:
        pages.update(part.pages)
        for i, t in enumerate(part.texts):
            key = " ".join(t.split())
            if key in seen:
                rows[seen[key]] = rows[seen[key]] | part.labels[i].astype(bool)
                continue
            seen[key] = len(texts)
            texts.append(t)
            langs.append(part.langs[i])
            rows.append(part.labels[i].astype(bool))
            origin.append(part.origin[i])
            docs.append(part.docs[i] if part.docs else "")
    width = parts[0].labels.shape[1] if parts else 0
    labels = np.array(rows, dtype=bool).reshape(len(rows), width)
    return Examples(texts, langs, labels, origin, docs, pages)


def codebook_examples(codebook: Codebook, *, heldout: bool = False) -> Examples:
    """Positive examples of a category are labelled with it; negatives with nothing."""
    cats = codebook.categories
    texts, langs, rows = [], [], []
    for j, c in enumerate(cats):
        pos = c.heldout_positive if heldout else c.positive
        neg = c.heldout_negative if heldout else c.negative
        for e, is_pos in [(e, True) for e in pos] + [(e, False) for e in neg]:
            row = np.zeros(len(cats), dtype=bool)
            row[j] = is_pos
            texts.append(e.text)
            langs.append(e.lang)
            rows.append(row)
    origin = "heldout" if heldout else "codebook"
    return combine(
        Examples(texts, langs, np.array(rows).reshape(len(rows), len(cats)), [origin] * len(texts))
    )


def gold_examples(gold: Gold, categories: Sequence[str], *, coder: str | None = None) -> Examples:
    """The reference coder's labels (by default the one who coded most sentences)."""
    from secprio.measure.validation import matrix

    units = gold.units([coder or gold.coders[0]])
    labels = matrix(gold.labels(coder), list(units["unit"]), categories)
    return Examples(list(units["text"]), list(units["lang"]), labels, ["gold"] * len(units))


WEIGHTS_FORMAT = 1


PRIOR_SCALE = 4.0  # a prior's logit is multiplied by this before it joins the features


def _with(x: Any, logits: np.ndarray | None, j: int) -> Any:
    """The features, plus the prior's logit for category ``j`` when there is a prior."""
    if logits is None:
        return x
    from scipy import sparse

    return sparse.hstack([x, sparse.csr_matrix(PRIOR_SCALE * logits[:, j : j + 1])], "csr")


ORIGINS = {
    "codebook": "codebook examples",
    "human": "human codings of this project",
    "gold": "gold-file sentences",
    "dev": "real labelled sentences",
}


def describe(examples: Examples) -> str:
    """What a model was trained on, in words: "342 codebook examples + 12 human codings …"."""
    counts = pd.Series(examples.origin, dtype=object).value_counts()
    return " + ".join(f"{n} {ORIGINS.get(str(o), str(o))}" for o, n in counts.items()) or "nothing"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass(frozen=True)
class Fitted:
    """One category's linear model: weights, Platt scaling of its score, and its threshold."""

    coef: np.ndarray  # one weight per feature column
    intercept: float
    a: float  # Platt scaling of the decision function
    b: float
    threshold: float

    def decision(self, x: Any) -> np.ndarray:
        return np.asarray(x @ self.coef).ravel() + self.intercept


class SupervisedCoder(BaseCoder):
    """Codes a sentence with every category whose calibrated probability passes its threshold
    (chosen for F1 on out-of-fold predictions over the training data)."""

    name = "supervised"
    learns = True
    requires_fit = True

    def __init__(
        self,
        codebook: Codebook,
        *,
        model: str = DEFAULT_MODEL,
        cache: Path | str | None = None,
        features: Sequence[str] | None = None,
        embedding_weight: float = EMBEDDING_WEIGHT,
        c: float = 1.0,
        threshold: float = 0.5,
        calibrate: bool = True,
        random_state: int = 0,
    ) -> None:
        self.codebook, self.model, self.cache = codebook, model, cache
        self.features = features  # None: the default blocks (see ``blocks``)
        self.embedding_weight = embedding_weight
        self.c, self.threshold, self.calibrate = c, threshold, calibrate
        self.random_state = random_state
        self.categories = codebook.ids()
        self.version = f"{__version__}+{self._describe()}+untrained"

    @property
    def blocks(self) -> tuple[str, ...]:
        """The feature blocks read: ``features``, else the default ones."""
        return tuple(self.features) if self.features is not None else available_blocks()

    def _describe(self) -> str:
        parts = [b for b in self.blocks if b != "embedding"]
        if "embedding" in self.blocks:
            parts.append(f"{model_version(self.model)}x{self.embedding_weight:g}")
        return "-".join(parts)

    def _featurizer(self) -> Featurizer:
        if not hasattr(self, "featurizer_"):
            self.featurizer_ = Featurizer(self.codebook, blocks=self.blocks, model=self.model,
                                          cache=self.cache,
                                          embedding_weight=self.embedding_weight)  # fmt: skip
        return self.featurizer_

    def _x(self, units: Sequence[Unit], pages: Pages | None = None,
           matches: np.ndarray | None = None) -> Any:  # fmt: skip
        return self._featurizer().transform(units, pages=pages, matches=matches)

    def fit(
        self, units: Sequence[Unit] = (), labels: Any = None, *, pages: Pages | None = None,
        base: Examples | None = None, prior: SupervisedCoder | None = None,
    ) -> SupervisedCoder:  # fmt: skip
        """Train on ``units`` and their ``labels`` (units × categories, 0/1), read with the
        documents in ``pages``, and on ``base``: labelled sentences that are no sample of the
        text to code (default: the codebook's examples; ``Examples`` with none: nothing
        more). With a ``prior`` (e.g. the weights a pack ships), its score for the
        category is one more feature, on a scale that makes it cheap for the model to keep:
        with a few labels the coder stays near the prior, with many it departs."""
        if labels is None:
            raise CoderError(
                "the supervised coder learns from labels: fit(units) was given none",
                hint=Hint(
                    "label sentences first (secprio suggest, then secprio import-gold)",
                    "pass labels, a units × categories 0/1 matrix: fit(units, labels)",
                ),
                code="E318",
            )
        check_labels(self, units, labels)
        data = Examples.of(units, labels, pages=pages)
        base = codebook_examples(self.codebook) if base is None else base
        return self.fit_examples(combine(base, data), prior=prior)

    def fit_examples(
        self, examples: Examples, *, prior: SupervisedCoder | None = None
    ) -> SupervisedCoder:
        """``fit`` on Examples, whose origins (codebook, human, gold...) ``trained_on_``
        names."""
        if not len(examples):
            raise CoderError(
                "the supervised coder was given no labelled sentence to learn from",
                hint="give it the codebook's examples at least (codebook_examples(codebook))",
                code="E320",
            )
        self.prior_ = prior
        units = examples.units()
        x = self._x(units, examples.pages)
        logits = self._prior(units, examples.pages)
        self.models_ = [
            self._fit_one(_with(x, logits, j), examples.labels[:, j])
            for j in range(len(self.categories))
        ]
        self.n_train_ = len(examples)
        self.positives_ = examples.labels.sum(axis=0).astype(int).tolist()
        self.trained_on_ = describe(examples)
        # the version names the training data: new human codings mean a new run, not a resume
        self.version = f"{__version__}+{self._describe()}+{examples.fingerprint()[:12]}"
        return self

    def _fit_one(self, x: Any, y: np.ndarray) -> Fitted | None:
        """A balanced logistic regression, Platt-calibrated on out-of-fold scores; the same
        scores choose the category's F1-best threshold (a rare category's is below 0.5)."""
        y = y.astype(bool)
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        if n_pos == 0 or n_neg == 0:
            return None  # nothing to learn: probability 0 (or 1) for everyone
        lr = LogisticRegression(
            C=self.c, class_weight="balanced", solver="liblinear", max_iter=5000,
            random_state=self.random_state,
        )  # fmt: skip
        folds = min(3, n_pos, n_neg)
        a, b, threshold = 1.0, 0.0, self.threshold
        if self.calibrate and folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            oof = cross_val_predict(lr, x, y, cv=cv, method="decision_function")
            platt = LogisticRegression(C=1e4).fit(oof[:, None], y)
            a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            threshold = best_threshold(_sigmoid(a * oof + b), y)
        lr.fit(x, y)
        coef = lr.coef_[0].astype(np.float32)
        return Fitted(coef, float(lr.intercept_[0]), a, b, threshold)

    def _prior(self, units: Sequence[Unit], pages: Pages | None,
               matches: np.ndarray | None = None) -> np.ndarray | None:  # fmt: skip
        prior = getattr(self, "prior_", None)
        if prior is None:
            return None
        p = np.clip(prior.predict_proba(units, pages, matches=matches), 1e-6, 1 - 1e-6)
        return np.asarray(np.log(p / (1 - p)))

    def predict_proba(self, units: Sequence[Unit], pages: Pages | None = None, *,
                      matches: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """sentences × categories: calibrated probabilities. Sentences that share a ``doc``
        are read as one document (``pages``: every sentence of a document, when the batch
        holds only some of them; ``matches``: the dictionary's verdicts on ``units``,
        ``Featurizer.matches``, when the caller has them)."""
        self.check_fitted()
        units = list(units)
        if not units:
            return np.zeros((0, len(self.categories)))
        x = self._x(units, pages, matches)
        logits = self._prior(units, pages, matches)
        out = np.zeros((len(units), len(self.categories)))
        for j, m in enumerate(self.models_):
            if m is None:
                out[:, j] = 1.0 if self.positives_[j] == self.n_train_ else 0.0
            else:
                out[:, j] = _sigmoid(m.a * m.decision(_with(x, logits, j)) + m.b)
        return out

    def proba(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """Probabilities for sentences on their own (no document around them)."""
        langs = langs if langs is not None else [""] * len(texts)
        units = [Unit(i, t, lang) for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
        return self.predict_proba(units)

    def save(self, path: Path | str, *, trained_on: str) -> Path:
        """Weights only (no sentence of the training data): a fitted model to ship or share."""
        self.check_fitted()
        path = Path(path)
        dim = next((m.coef.shape[0] for m in self.models_ if m is not None), 0)
        fitted = np.array([m is not None for m in self.models_])
        zero = Fitted(np.zeros(dim, np.float32), 0.0, 1.0, 0.0, self.threshold)
        models = [m or zero for m in self.models_]
        meta = {
            "format": WEIGHTS_FORMAT, "categories": self.categories, "features": list(self.blocks),
            "hash_bits": HASH_BITS, "embedding": model_version(self.model)
            if "embedding" in self.blocks else "", "model": self.model,
            "embedding_weight": self.embedding_weight,
            "codebook_sha256": self.codebook.sha256, "n_train": self.n_train_,
            "positives": self.positives_, "trained_on": trained_on, "version": self.version,
        }  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(
                handle, meta=np.array(json.dumps(meta)), fitted=fitted,
                coef=np.stack([m.coef for m in models]).astype(np.float16),
                scalars=np.array([[m.intercept, m.a, m.b, m.threshold] for m in models]),
            )  # fmt: skip
        return path

    @classmethod
    def load(cls, path: Path | str, codebook: Codebook, *, cache: Path | str | None = None
             ) -> SupervisedCoder:  # fmt: skip
        """A coder from saved weights; refused when they belong to other categories."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                coef, scalars, fitted = data["coef"], data["scalars"], data["fitted"]
        except (OSError, ValueError, KeyError) as exc:
            raise CoderError(
                f"cannot read coder weights: {exc}",
                path=path,
                hint="retrain them with scripts/train_ots.py",
                code="E328",
            ) from None
        if meta.get("format") != WEIGHTS_FORMAT or meta["categories"] != codebook.ids():
            hint = "retrain them for this codebook: scripts/train_ots.py"
            raise CoderError(
                "the weights were trained for other categories", path=path, hint=hint, code="E327"
            )
        if codebook.sha256 and meta.get("codebook_sha256") not in ("", codebook.sha256):
            what = "the weights were trained with another version of the codebook"
            raise CoderError(
                what, path=path, hint="retrain them: scripts/train_ots.py DOCS_DIR", code="E326"
            )
        if meta["hash_bits"] != HASH_BITS:
            raise CoderError(
                "the weights use another feature hashing",
                path=path,
                hint="retrain them with this version of secprio",
                code="E325",
            )
        coder = cls(codebook, model=meta["model"], cache=cache, features=meta["features"],
                    embedding_weight=float(meta.get("embedding_weight", 1.0)))  # fmt: skip
        coder.models_ = [
            Fitted(coef[j].astype(np.float32), *map(float, scalars[j])) if fitted[j] else None
            for j in range(len(fitted))
        ]
        coder.n_train_, coder.positives_ = int(meta["n_train"]), list(meta["positives"])
        coder.trained_on_ = str(meta["trained_on"])
        coder.version = str(meta["version"])
        return coder

    @property
    def thresholds_(self) -> np.ndarray:
        self.check_fitted()
        return np.array([m.threshold if m else self.threshold for m in self.models_])

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        self.check_fitted()
        units = list(units)
        if not units:
            return
        # one dictionary pass: its verdicts feed this model and the prior, its words the
        # evidence of the codings
        feats = self._featurizer()
        found = feats.codings(units)
        prob = self.predict_proba(units, matches=feats.matches(units, found))
        thresholds = self.thresholds_
        words = {(c.unit_id, c.category): c for c in found} if "dictionary" in self.blocks else {}
        for i, j in zip(*np.nonzero(prob >= thresholds), strict=True):
            match = words.get((int(i), self.categories[j]))
            yield Coding(
                units[i].id,
                self.categories[j],
                self.name,
                self.version,
                confidence=round(float(prob[i, j]), 6),
                pattern=match.pattern if match else "",
                start=match.start if match else -1,
                end=match.end if match else -1,
                evidence={
                    "probability": round(float(prob[i, j]), 6),
                    "threshold": float(thresholds[j]),
                    "n_train": self.n_train_,
                    "n_positive": self.positives_[j],
                    "features": self._describe(),
                    "spans": match.evidence.get("spans", []) if match else [],
                },
            )


def sentence_units(sents: pd.DataFrame) -> list[Unit]:
    """``Project.sentences(text=True)`` rows as coder input, each with its document."""
    cols = (sents["segment_id"], sents["text"], sents["language"].fillna(""), sents["document_id"])
    return [Unit(int(i), t, lang, str(d)) for i, t, lang, d in zip(*cols, strict=True)]


def needs_embedding(weights: Path) -> bool:
    """Whether saved weights read sentence embeddings (so need the semantic extra)."""
    try:
        with np.load(weights, allow_pickle=False) as data:
            return "embedding" in json.loads(str(data["meta"])).get("features", [])
    except (OSError, ValueError, KeyError) as exc:
        raise CoderError(
            f"cannot read coder weights: {exc}",
            path=weights,
            hint="retrain them with scripts/train_ots.py",
            code="E324",
        ) from None
