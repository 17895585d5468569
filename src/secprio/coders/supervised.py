"""The supervised coder: one calibrated logistic regression per category on sentence embeddings.

Training data are the codebook's examples (never its held-out ones), the human codings in the
store and the project's gold file. The features are multilingual sentence embeddings (see
embed.py), so a label given to an English sentence teaches the model about its Turkish and
Kazakh paraphrases too. Classes are weighted to balance the few positives of a category
against everything else, and the probabilities are calibrated (Platt, by cross-validation),
so 0.5 means "as likely as not" and ``suggest`` can rank sentences by uncertainty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from secprio import __version__
from secprio.codebook.model import Codebook
from secprio.coders.base import Coding, Unit
from secprio.coders.embed import CACHE_NAME, DEFAULT_MODEL, embed, model_version
from secprio.coders.semantic import best_threshold

if TYPE_CHECKING:
    from secprio.exchange.gold import Gold
    from secprio.project import Project


@dataclass(frozen=True)
class Examples:
    """Labelled sentences: texts, languages, a sentences × categories 0/1 matrix, origins."""

    texts: list[str]
    langs: list[str]
    labels: np.ndarray
    origin: list[str]

    def __len__(self) -> int:
        return len(self.texts)

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
    rows: list[np.ndarray] = []
    for part in parts:
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
    width = parts[0].labels.shape[1] if parts else 0
    labels = np.array(rows, dtype=bool).reshape(len(rows), width)
    return Examples(texts, langs, labels, origin)


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
    return Examples(
        list(sents["text"]), list(sents["language"].fillna("")), labels, ["human"] * len(sents)
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass(frozen=True)
class Fitted:
    model: LogisticRegression
    a: float  # Platt scaling of the decision function
    b: float
    threshold: float


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
        c: float = 10.0,
        threshold: float = 0.5,
        calibrate: bool = True,
        random_state: int = 0,
    ) -> None:
        self.codebook, self.model, self.cache = codebook, model, cache
        self.c, self.threshold, self.calibrate = c, threshold, calibrate
        self.random_state = random_state
        self.categories = codebook.ids()
        self.version = f"{__version__}+{model_version(model)}+untrained"

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return embed(texts, model=self.model, cache=self.cache)

    def fit(self, examples: Examples) -> SupervisedCoder:
        x = self._embed(examples.texts)
        self.models_ = [
            self._fit_one(x, examples.labels[:, j]) for j in range(len(self.categories))
        ]
        self.n_train_ = len(examples)
        self.positives_ = examples.labels.sum(axis=0).astype(int).tolist()
        # the version names the training data: new human codings mean a new run, not a resume
        self.version = f"{__version__}+{model_version(self.model)}+{examples.fingerprint()[:12]}"
        return self

    def _fit_one(self, x: np.ndarray, y: np.ndarray) -> Fitted | None:
        """A balanced logistic regression, Platt-calibrated on out-of-fold scores; the same
        scores choose the category's F1-best threshold (a rare category's is below 0.5)."""
        y = y.astype(bool)
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        if n_pos == 0 or n_neg == 0:
            return None  # nothing to learn: probability 0 (or 1) for everyone
        lr = LogisticRegression(C=self.c, class_weight="balanced", max_iter=5000)
        folds = min(3, n_pos, n_neg)
        a, b, threshold = 1.0, 0.0, self.threshold
        if self.calibrate and folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            oof = cross_val_predict(lr, x, y, cv=cv, method="decision_function")
            platt = LogisticRegression(C=1e4).fit(oof[:, None], y)
            a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            threshold = best_threshold(_sigmoid(a * oof + b), y)
        return Fitted(lr.fit(x, y), a, b, threshold)

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        x = self._embed(texts)
        out = np.zeros((len(texts), len(self.categories)))
        for j, m in enumerate(self.models_):
            if m is None:
                out[:, j] = 1.0 if self.positives_[j] == self.n_train_ else 0.0
            elif len(texts):
                out[:, j] = _sigmoid(m.a * m.model.decision_function(x) + m.b)
        return out

    @property
    def thresholds_(self) -> np.ndarray:
        return np.array([m.threshold if m else self.threshold for m in self.models_])

    def code(self, units: Iterable[Unit]) -> Iterator[Coding]:
        units = list(units)
        if not units:
            return
        prob = self.proba([u.text for u in units])
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
                    "model": model_version(self.model),
                },
            )


def training_data(project: Project, *, exclude: Iterable[str] = ()) -> Examples:
    """Codebook examples, human codings in the store and the project's gold file."""
    from secprio.exchange.gold import locate, read

    cats = project.codebook.ids()
    parts = [codebook_examples(project.codebook), human_examples(project)]
    path = locate(project)
    if path is not None:
        parts.append(gold_examples(read(path, categories=cats), cats))
    return combine(*parts).without(exclude)


def from_project(project: Project, *, exclude: Iterable[str] = ()) -> SupervisedCoder:
    model = project.settings.measure.embedding or DEFAULT_MODEL
    coder = SupervisedCoder(
        project.codebook,
        model=model,
        cache=project.root / CACHE_NAME,
        random_state=project.settings.measure.seed,
    )
    return coder.fit(training_data(project, exclude=exclude))


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
    sents = sents[~sents["segment_id"].isin(reviewed)].reset_index(drop=True)
    prob = coder.proba(list(sents["text"]))
    if not len(sents):
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
