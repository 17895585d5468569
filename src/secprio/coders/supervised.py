"""The supervised coder: one calibrated logistic regression per category.

Training data are the codebook's examples (never its held-out ones), the human codings in the
store and the project's gold file. The features (features.py) are hashed words and character
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
from secprio.coders.base import Coding, Unit
from secprio.coders.embed import CACHE_NAME, DEFAULT_MODEL, model_version
from secprio.coders.features import (
    EMBEDDING_WEIGHT,
    HASH_BITS,
    Featurizer,
    Pages,
    available_blocks,
)
from secprio.coders.semantic import best_threshold
from secprio.errors import CoderError

if TYPE_CHECKING:
    from secprio.exchange.gold import Gold
    from secprio.project import Project


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


def human_examples(project: Project) -> Examples:
    """Sentences of the store with human decisions: applied categories 1, all others 0."""
    cats = project.codebook.ids()
    codings = project.codings(human=True)
    human = codings[codings["source"] == "human"] if not codings.empty else codings
    if human.empty:
        return Examples([], [], np.zeros((0, len(cats)), dtype=bool), [])
    sents = project.sentences(text=True).set_index("segment_id")
    sents = sents.loc[sents.index.intersection(human["segment_id"].unique())]
    col = {c: j for j, c in enumerate(cats)}
    labels = np.zeros((len(sents), len(cats)), dtype=bool)
    pos = {s: i for i, s in enumerate(sents.index)}
    for seg, cat, value in zip(human["segment_id"], human["category"], human["value"], strict=True):
        if seg in pos and cat in col and value == 1:
            labels[pos[seg], col[cat]] = True
    docs = [str(d) for d in sents["document_id"]]
    pages: dict[str, list[Unit]] = {}
    for u in project.store.units(sorted({int(d) for d in sents["document_id"]})):
        pages.setdefault(u.doc, []).append(u)
    return Examples(
        list(sents["text"]), list(sents["language"].fillna("")), labels, ["human"] * len(sents),
        docs, pages,
    )  # fmt: skip


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


class SupervisedCoder:
    """Codes a sentence with every category whose calibrated probability passes its threshold
    (chosen for F1 on out-of-fold predictions over the training data)."""

    name = "supervised"

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
        self.features = tuple(features) if features is not None else available_blocks()
        self.embedding_weight = embedding_weight
        self.c, self.threshold, self.calibrate = c, threshold, calibrate
        self.random_state = random_state
        self.categories = codebook.ids()
        self.version = f"{__version__}+{self._describe()}+untrained"

    def _describe(self) -> str:
        parts = [b for b in self.features if b != "embedding"]
        if "embedding" in self.features:
            parts.append(f"{model_version(self.model)}x{self.embedding_weight:g}")
        return "-".join(parts)

    def _x(self, units: Sequence[Unit], pages: Pages | None = None) -> Any:
        if not hasattr(self, "featurizer_"):
            self.featurizer_ = Featurizer(self.codebook, blocks=self.features, model=self.model,
                                          cache=self.cache,
                                          embedding_weight=self.embedding_weight)  # fmt: skip
        return self.featurizer_.transform(units, pages=pages)

    def fit(self, examples: Examples, *, prior: SupervisedCoder | None = None) -> SupervisedCoder:
        """Train on ``examples``. With a ``prior`` (e.g. the weights a pack ships), its score
        for the category is one more feature, on a scale that makes it cheap for the model
        to keep: with a few labels the coder stays near the prior, with many it departs."""
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
            C=self.c, class_weight="balanced", solver="liblinear", max_iter=5000
        )
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

    def _prior(self, units: Sequence[Unit], pages: Pages | None) -> np.ndarray | None:
        prior = getattr(self, "prior_", None)
        if prior is None:
            return None
        p = np.clip(prior.predict_proba(units, pages), 1e-6, 1 - 1e-6)
        return np.asarray(np.log(p / (1 - p)))

    def predict_proba(self, units: Sequence[Unit], pages: Pages | None = None) -> np.ndarray:
        """sentences × categories: calibrated probabilities. Sentences that share a ``doc``
        are read as one document (``pages``: every sentence of a document, when the batch
        holds only some of them)."""
        x = self._x(units, pages)
        logits = self._prior(units, pages)
        out = np.zeros((len(units), len(self.categories)))
        for j, m in enumerate(self.models_):
            if m is None:
                out[:, j] = 1.0 if self.positives_[j] == self.n_train_ else 0.0
            elif len(units):
                out[:, j] = _sigmoid(m.a * m.decision(_with(x, logits, j)) + m.b)
        return out

    def proba(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """Probabilities for sentences on their own (no document around them)."""
        langs = langs if langs is not None else [""] * len(texts)
        units = [Unit(i, t, lang) for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
        return self.predict_proba(units)

    def save(self, path: Path | str, *, trained_on: str) -> Path:
        """Weights only (no sentence of the training data): a fitted model to ship or share."""
        path = Path(path)
        dim = next((m.coef.shape[0] for m in self.models_ if m is not None), 0)
        fitted = np.array([m is not None for m in self.models_])
        zero = Fitted(np.zeros(dim, np.float32), 0.0, 1.0, 0.0, self.threshold)
        models = [m or zero for m in self.models_]
        meta = {
            "format": WEIGHTS_FORMAT, "categories": self.categories, "features": self.features,
            "hash_bits": HASH_BITS, "embedding": model_version(self.model)
            if "embedding" in self.features else "", "model": self.model,
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
            raise CoderError(f"cannot read coder weights: {exc}", path=path,
                             hint="retrain them with scripts/train_ots.py") from None  # fmt: skip
        if meta.get("format") != WEIGHTS_FORMAT or meta["categories"] != codebook.ids():
            hint = "retrain them for this codebook: scripts/train_ots.py"
            raise CoderError("the weights were trained for other categories", path=path, hint=hint)
        if codebook.sha256 and meta.get("codebook_sha256") not in ("", codebook.sha256):
            what = "the weights were trained with another version of the codebook"
            raise CoderError(what, path=path, hint="retrain them: scripts/train_ots.py DOCS_DIR")
        if meta["hash_bits"] != HASH_BITS:
            raise CoderError("the weights use another feature hashing", path=path,
                             hint="retrain them with this version of secprio")  # fmt: skip
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
        return np.array([m.threshold if m else self.threshold for m in self.models_])

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        units = list(units)
        if not units:
            return
        prob = self.predict_proba(units)
        thresholds = self.thresholds_
        for i, j in zip(*np.nonzero(prob >= thresholds), strict=True):
            yield Coding(
                units[i].id,
                self.categories[j],
                self.name,
                self.version,
                confidence=round(float(prob[i, j]), 6),
                evidence={
                    "probability": round(float(prob[i, j]), 6),
                    "threshold": float(thresholds[j]),
                    "n_train": self.n_train_,
                    "n_positive": self.positives_[j],
                    "features": self._describe(),
                },
            )


def sentence_units(sents: pd.DataFrame) -> list[Unit]:
    """``Project.sentences(text=True)`` rows as coder input, each with its document."""
    cols = (sents["segment_id"], sents["text"], sents["language"].fillna(""), sents["document_id"])
    return [Unit(int(i), t, lang, str(d)) for i, t, lang, d in zip(*cols, strict=True)]


def training_data(project: Project, *, exclude: Iterable[str] = ()) -> Examples:
    """Codebook examples, human codings in the store and the project's own gold file."""
    from secprio.exchange.gold import locate, read

    cats = project.codebook.ids()
    parts = [codebook_examples(project.codebook), human_examples(project)]
    path = locate(project, pack=False)
    if path is not None:
        parts.append(gold_examples(read(path, categories=cats), cats))
    return combine(*parts).without(exclude)


def needs_embedding(weights: Path) -> bool:
    """Whether saved weights read sentence embeddings (so need the semantic extra)."""
    try:
        with np.load(weights, allow_pickle=False) as data:
            return "embedding" in json.loads(str(data["meta"])).get("features", [])
    except (OSError, ValueError, KeyError) as exc:
        raise CoderError(f"cannot read coder weights: {exc}", path=weights,
                         hint="retrain them with scripts/train_ots.py") from None  # fmt: skip


def shipped(project: Project, name: str = "supervised") -> Path | None:
    """Weights a bundled pack ships for this coder, when the project uses its codebook
    unchanged (weights belong to the categories and patterns they were trained with)."""
    from secprio import packs

    folder = packs.matching(project.codebook.sha256)
    path = folder / "weights" / f"{name}.npz" if folder else None
    return path if path is not None and path.is_file() else None


def from_project(project: Project, *, exclude: Iterable[str] = ()) -> SupervisedCoder:
    """The pack's shipped weights when the project has no labels of its own; with labels, a
    model trained on them (and the codebook examples) that keeps the shipped one as prior.
    ``exclude``: sentences never to train on (a validation sample kept apart)."""
    model = project.settings.measure.embedding or DEFAULT_MODEL
    cache = project.root / CACHE_NAME
    weights = shipped(project)
    prior = SupervisedCoder.load(weights, project.codebook, cache=cache) if weights else None
    data = training_data(project, exclude=exclude)
    if prior is not None and not (set(data.origin) - {"codebook"}):
        return prior
    coder = SupervisedCoder(
        project.codebook,
        model=model,
        cache=cache,
        features=prior.features if prior is not None else None,
        embedding_weight=prior.embedding_weight if prior is not None else EMBEDDING_WEIGHT,
        random_state=project.settings.measure.seed,
    ).fit(data, prior=prior)
    if prior is not None:
        coder.trained_on_ += f", with the pack's shipped model as prior ({prior.trained_on_})"
    return coder


def suggest(project: Project, n: int = 20, *, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Uncertainty sampling: the unreviewed sentences whose label would teach the model most.

    A sentence's uncertainty is that of its least certain category (probability nearest 0.5):
    one human decision there moves a decision boundary. ``exclude``: sentences (by text)
    never to train on, such as a validation sample.
    """
    coder = from_project(project, exclude=exclude)
    sents = project.sentences(text=True)
    codings = project.codings(human=True)
    reviewed = (
        set(codings.loc[codings["source"] == "human", "segment_id"]) if len(codings) else set()
    )
    pages: dict[str, list[Unit]] = {}
    for u in sentence_units(sents):
        pages.setdefault(u.doc, []).append(u)
    sents = sents[~sents["segment_id"].isin(reviewed)].reset_index(drop=True)
    if not len(sents):  # everything is reviewed (proba of no text would raise)
        return pd.DataFrame(
            columns=[
                "id",
                "text",
                "lang",
                "category",
                "coder",
                "uncertain",
                "probability",
                "machine",
                "document",
            ]
        )
    prob = coder.predict_proba(sentence_units(sents), pages)
    closeness = 1.0 - np.abs(2.0 * prob - 1.0)
    j = closeness.argmax(axis=1)
    rows = np.arange(len(sents))
    cats = np.array(coder.categories)
    machine = [";".join(cats[prob[i] >= coder.thresholds_]) for i in rows]
    out = pd.DataFrame(
        {
            "id": [f"seg:{s}" for s in sents["segment_id"]],
            "text": sents["text"],
            "lang": sents["language"].fillna(""),
            "category": "",
            "coder": "",
            "uncertain": cats[j],
            "probability": prob[rows, j].round(3),
            "machine": machine,
            "document": sents["path"],
            "_u": closeness[rows, j],
        }
    )
    out = out.sort_values(["_u", "id"], ascending=[False, True], kind="stable")
    return out.drop(columns="_u").head(n).reset_index(drop=True)
