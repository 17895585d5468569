"""Coders for a project: what the registry's factories build, from the project's data.

Coder modules take plain data (a codebook, settings, units and labels) and never a
``Project``; this module reads a project — its settings, the pack its codebook comes from,
the human codings in its store, its gold file — and hands that data to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from secprio.coders.embed import CACHE_NAME, DEFAULT_MODEL
from secprio.coders.ensemble import EnsembleCoder
from secprio.coders.features import EMBEDDING_WEIGHT
from secprio.coders.semantic import SemanticCoder
from secprio.coders.supervised import (
    Examples,
    SupervisedCoder,
    codebook_examples,
    combine,
    gold_examples,
    sentence_units,
)
from secprio.model import Unit

if TYPE_CHECKING:
    from secprio.project import Project


def settings(project: Project) -> dict[str, Any]:
    """The settings an embedding coder takes from a project: its model and vector cache."""
    return {
        "model": project.settings.measure.embedding or DEFAULT_MODEL,
        "cache": project.root / CACHE_NAME,
    }


def semantic(project: Project) -> SemanticCoder:
    """The semantic coder, calibrated on the codebook's examples."""
    return SemanticCoder(project.codebook, **settings(project)).fit()


def human_examples(project: Project) -> Examples:
    """Sentences of the store with human decisions: applied categories 1, all others 0."""
    cats = project.codebook.ids()
    human = project.human_codings()
    if human.empty:
        return Examples([], [], np.zeros((0, len(cats)), dtype=bool), [])
    segments = human["segment_id"].unique().tolist()
    sents = project.sentences(text=True, segments=segments).set_index("segment_id")
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


def training_data(project: Project, *, exclude: Iterable[str] = ()) -> Examples:
    """Codebook examples, human codings in the store and the project's own gold file."""
    from secprio.exchange.gold import locate, read

    cats = project.codebook.ids()
    parts = [codebook_examples(project.codebook), human_examples(project)]
    path = locate(project, pack=False)
    if path is not None:
        parts.append(gold_examples(read(path, categories=cats), cats))
    return combine(*parts).without(exclude)


def project_base(project: Project, *, exclude: Iterable[str] = ()) -> Examples:
    """Training data without the gold file: codebook examples and store human codings."""
    return combine(codebook_examples(project.codebook), human_examples(project)).without(exclude)


def shipped(project: Project, name: str = "supervised") -> Path | None:
    """Weights a bundled pack ships for this coder, when the project uses its codebook
    unchanged (weights belong to the categories and patterns they were trained with)."""
    from secprio import packs

    folder = packs.matching(project.codebook.sha256)
    path = folder / "weights" / f"{name}.npz" if folder else None
    return path if path is not None and path.is_file() else None


def supervised(project: Project, *, exclude: Iterable[str] = ()) -> SupervisedCoder:
    """The pack's shipped weights when the project has no labels of its own; with labels, a
    model trained on them (and the codebook examples) that keeps the shipped one as prior.
    ``exclude``: sentences never to train on (a validation sample kept apart)."""
    model, cache = settings(project)["model"], settings(project)["cache"]
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
    ).fit_examples(data, prior=prior)
    if prior is not None:
        coder.trained_on_ += f", with the pack's shipped model as prior ({prior.trained_on_})"
    return coder


def ensemble(project: Project) -> EnsembleCoder:
    """The project's ensemble. Its supervised part is the supervised coder the project would
    use (the pack's shipped model, retrained with the project's human codings if any). It is
    calibrated on the project's own gold file when there is one; else it uses the combination
    a pack ships (calibrated on real labelled sentences); else the three coders vote. A pack's
    synthetic gold set is never used to calibrate: it is not the language of real documents."""
    from secprio.exchange.gold import locate, read

    model, cache = settings(project)["model"], settings(project)["cache"]
    signal = supervised(project)
    path = locate(project, pack=False)
    weights = shipped(project, "ensemble")
    if path is None and weights is not None:  # its semantic part: the model it was fitted with
        return EnsembleCoder.load(weights, project.codebook, supervised=signal, cache=cache)
    coder = EnsembleCoder(
        project.codebook, model=model, cache=cache, random_state=project.settings.measure.seed,
        features=signal.features,
    )  # fmt: skip
    if path is None:
        return coder.fit_examples(codebook_examples(project.codebook), supervised=signal)
    cats = project.codebook.ids()
    base = combine(codebook_examples(project.codebook), human_examples(project))
    return coder.fit_examples(base, gold_examples(read(path, categories=cats), cats))


def suggest(project: Project, n: int = 20, *, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Uncertainty sampling: the unreviewed sentences whose label would teach the model most.

    A sentence's uncertainty is that of its least certain category (probability nearest 0.5):
    one human decision there moves a decision boundary. ``exclude``: sentences (by text)
    never to train on, such as a validation sample.
    """
    coder = supervised(project, exclude=exclude)
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
