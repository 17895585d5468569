"""Honest predictions of gold sentences: no coder predicts a sentence it learned from.

A coder that learns nothing from labels (``learns = False``) is fitted once and codes every
sentence. A coder that learns is refitted per fold of the gold sentences (k folds, shuffled
by ``seed``): on the other folds, with ``base`` (codebook examples, human codings; the fold's
sentences removed from it too) as more training data, and codes the fold. What a coder is,
not its name, decides which. A learner whose ``fit`` takes ``base=`` (and ``pages=``) is
given those apart, as the ensemble calibrates on the gold sentences only; any other learner
is fitted on ``base`` and the other folds together.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from sklearn.model_selection import KFold

from secprio.coders.base import Coder, Codes, Unit
from secprio.coders.supervised import Examples


def coded(coder: Codes, units: Sequence[Unit], cats: Sequence[str]) -> np.ndarray:
    """The coder's 0/1 codings of ``units`` (ids: their positions), units × ``cats``."""
    col = {c: j for j, c in enumerate(cats)}
    out = np.zeros((len(units), len(cats)), dtype=bool)
    for c in coder.code(units):
        if c.category in col and c.value == 1:
            out[c.unit_id, col[c.category]] = True
    return out


def cross_fit(
    coders: Mapping[str, Codes],
    gold: Examples,
    *,
    categories: Sequence[str],
    base: Examples,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Each coder's 0/1 predictions of the gold sentences, by name. ``coders``: coders
    built with their settings (a learner is refitted on each fold; fit starts afresh);
    ``categories``: the codebook's, the columns of the result."""
    cats = list(categories)
    units = gold.units()
    out: dict[str, np.ndarray] = {}
    learners = {n: cast(Coder, c) for n, c in coders.items() if getattr(c, "learns", False)}
    for name, coder in coders.items():
        if name not in learners:
            if getattr(coder, "requires_fit", False):
                cast(Coder, coder).fit([])
            out[name] = coded(coder, units, cats)
    if not learners:
        return out
    for name in learners:
        out[name] = np.zeros(gold.labels.shape, dtype=bool)
    split = KFold(folds, shuffle=True, random_state=seed)
    for tr, te in split.split(np.arange(len(gold))):
        test, train = gold.take(te), gold.take(tr)
        train_base = base.without(test.texts)
        for name, coder in learners.items():
            fit_fold(coder, train, train_base)
            out[name][te] = coded(coder, test.units(), cats)
    return out


def fit_fold(coder: Coder, train: Examples, base: Examples) -> None:
    """Fit a learner on a fold: ``base`` apart where its ``fit`` takes it, else joined."""
    from secprio.coders.supervised import combine

    accepts = inspect.signature(coder.fit).parameters
    if "base" in accepts:
        extra: dict[str, Any] = {"base": base}
        if "pages" in accepts:
            extra["pages"] = train.pages
        coder.fit(train.units(), train.labels, **extra)
        return
    both = combine(base, train) if len(base) else train
    coder.fit(both.units(), both.labels)
