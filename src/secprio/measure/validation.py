"""Machine against human coding: precision, recall and F1 per category, with intervals.

Both codings are sentence × category 0/1 matrices over the same sentences (the unit is the
sentence, as for the scores). Intervals come from resampling sentences with replacement, so
they reflect how much the figures would move with another sample of sentences of this kind.
A category the human never applied and the machine never predicted has no defined F1 and is
left out of the macro average rather than counted as perfect.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from secprio.exchange.gold import Gold
    from secprio.project import Project

NONE = "(none)"
LabelSets = Mapping[str, frozenset[str] | set[str]]  # unit -> categories


def matrix(labels: LabelSets, units: Sequence[str], categories: Sequence[str]) -> np.ndarray:
    """A units × categories boolean matrix from label sets (unknown units: all False)."""
    col = {c: j for j, c in enumerate(categories)}
    out = np.zeros((len(units), len(categories)), dtype=bool)
    for i, u in enumerate(units):
        for c in labels.get(u, ()):
            if c in col:
                out[i, col[c]] = True
    return out


def _ratios(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    return precision, recall, f1


def counts(
    truth: np.ndarray, pred: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tp, fp, fn per category; ``weights`` (replicates × units) gives one row per replicate."""
    cells = [truth & pred, ~truth & pred, truth & ~pred]
    if weights is None:
        return tuple(c.sum(axis=0).astype(float) for c in cells)
    return tuple(weights @ c.astype(float) for c in cells)


def _macro(f1: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: mean is NaN
        return np.nanmean(f1, axis=-1)


def evaluate(
    truth: np.ndarray,
    pred: np.ndarray,
    categories: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    groups: Sequence[object] | np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per category and a macro row: counts, P, R, F1 and their intervals.

    With ``groups`` (one label per sentence, e.g. its document) the bootstrap resamples
    whole groups: sentences of one document are not independent, and resampling them one by
    one would make the intervals too narrow.
    """
    truth, pred = np.asarray(truth, bool), np.asarray(pred, bool)
    tp, fp, fn = counts(truth, pred)
    p, r, f = _ratios(tp, fp, fn)
    n = truth.shape[0]
    rng = np.random.default_rng(seed)
    w = _replicates(n, groups, n_boot, rng) if n else None
    tail = (1 - level) / 2 * 100
    if w is not None and n_boot > 0:
        bp, br, bf = _ratios(*counts(truth, pred, w))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = [np.nanpercentile(b, tail, axis=0) for b in (bp, br, bf)]
            hi = [np.nanpercentile(b, 100 - tail, axis=0) for b in (bp, br, bf)]
            macro_b = _macro(bf)
            macro_ci = np.nanpercentile(macro_b, [tail, 100 - tail])
    else:
        lo = hi = [np.full(len(categories), np.nan)] * 3
        macro_ci = np.array([np.nan, np.nan])
    df = pd.DataFrame(
        {
            "category": list(categories),
            "n_true": truth.sum(axis=0),
            "n_pred": pred.sum(axis=0),
            "tp": tp.astype(int),
            "fp": fp.astype(int),
            "fn": fn.astype(int),
            "precision": p,
            "precision_lo": lo[0],
            "precision_hi": hi[0],
            "recall": r,
            "recall_lo": lo[1],
            "recall_hi": hi[1],
            "f1": f,
            "f1_lo": lo[2],
            "f1_hi": hi[2],
        }
    )
    macro = {
        "category": "macro",
        "n_true": int(truth.sum()),
        "n_pred": int(pred.sum()),
        "tp": int(tp.sum()),
        "fp": int(fp.sum()),
        "fn": int(fn.sum()),
        "precision": float(np.nanmean(p)) if np.isfinite(p).any() else np.nan,
        "recall": float(np.nanmean(r)) if np.isfinite(r).any() else np.nan,
        "f1": float(_macro(f)),
        "f1_lo": float(macro_ci[0]),
        "f1_hi": float(macro_ci[1]),
    }
    return pd.concat([df, pd.DataFrame([macro])], ignore_index=True)


def _replicates(
    n: int, groups: Sequence[object] | np.ndarray | None, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap weights, replicates × units: how often each unit is drawn."""
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    _, index = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    k = int(index.max()) + 1
    drawn = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float)
    return drawn[:, index]


def paired(
    truth: np.ndarray,
    preds: Mapping[str, np.ndarray],
    blocks: Sequence[Sequence[int]],
    *,
    groups: Sequence[object] | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Coders against each other on the same sentences: is the best one really better?

    A coder's score is the mean over ``blocks`` (lists of category columns, e.g. priorities
    and threats) of its macro-F1 in each block. Every coder is scored on the *same* bootstrap
    replicates (resampling ``groups``, e.g. pages), so the interval of its difference to the
    best coder is paired: two coders that err on the same sentences are not called different
    by noise that moves both. ``tied`` is True when that interval includes 0 — the data cannot
    tell the coder from the best. One row per coder, best first.
    """
    truth = np.asarray(truth, bool)
    rng = np.random.default_rng(seed)
    w = _replicates(truth.shape[0], groups, n_boot, rng)
    point: dict[str, float] = {}
    boot: dict[str, np.ndarray] = {}
    for name, pred in preds.items():
        pred = np.asarray(pred, bool)
        _, _, f = _ratios(*counts(truth, pred))
        _, _, bf = _ratios(*counts(truth, pred, w))
        point[name] = float(np.mean([_macro(f[list(b)]) for b in blocks]))
        boot[name] = np.mean([_macro(bf[:, list(b)]) for b in blocks], axis=0)
    best = max(point, key=lambda n: point[n])
    tail = (1 - level) / 2 * 100
    rows = []
    for name in sorted(point, key=lambda n: -point[n]):
        diff = boot[best] - boot[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanpercentile(diff, [tail, 100 - tail])
        rows.append({
            "coder": name, "score": point[name], "behind_best": point[best] - point[name],
            "behind_lo": float(lo), "behind_hi": float(hi),
            "tied": bool(name == best or lo <= 0.0),
        })  # fmt: skip
    return pd.DataFrame(rows)


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """Mean F1 over categories that occur in truth or prediction."""
    _, _, f = _ratios(*counts(np.asarray(truth, bool), np.asarray(pred, bool)))
    return float(_macro(f)) if np.isfinite(f).any() else float("nan")


def confusions(
    truth: np.ndarray,
    pred: np.ndarray,
    categories: Sequence[str],
    *,
    texts: Sequence[str] | None = None,
    top: int = 10,
) -> pd.DataFrame:
    """The most frequent (human, machine) disagreements on the same sentence.

    A sentence the machine coded X where the human coded Y (and not X) counts once for each
    such pair; "(none)" stands for a side that applied nothing the other did not.
    """
    pairs: dict[tuple[str, str], list[int]] = {}
    for i in range(truth.shape[0]):
        missed = [categories[int(j)] for j in np.flatnonzero(truth[i] & ~pred[i])]
        extra = [categories[int(j)] for j in np.flatnonzero(pred[i] & ~truth[i])]
        if not missed and not extra:
            continue
        for h, m in product(missed or [NONE], extra or [NONE]):
            pairs.setdefault((h, m), []).append(i)
    rows = [
        {
            "human": h,
            "machine": m,
            "count": len(idx),
            "example": texts[idx[0]] if texts is not None else "",
        }
        for (h, m), idx in pairs.items()
    ]
    cols = ["human", "machine", "count", "example"]
    df = pd.DataFrame(rows, columns=cols)
    return (
        df.sort_values(["count", "human", "machine"], ascending=[False, True, True])
        .head(top)
        .reset_index(drop=True)
    )


# -- a project's coders against a gold file --------------------------------------------------
@dataclass
class Validation:
    """Machine against human on one gold file: what `secprio validate` prints and the report
    shows. Supervised and ensemble predictions are cross-fitted (see coders/ensemble.py)."""

    gold: str
    reference: str  # the human coder the machines are compared with
    n_sentences: int
    folds: int
    metrics: pd.DataFrame  # coder, category, counts, precision/recall/f1 with intervals
    confusions: pd.DataFrame  # coder, human, machine, count, example
    alpha: pd.DataFrame  # pair, category, alpha with interval, n_units, verdict
    coders: list[str] = field(default_factory=list)


def available_coders(project: Project) -> list[str]:
    """Every registered coder whose dependencies are installed (the embedding ones need a
    model), secprio's own first, then the coders installed packages add."""
    from secprio.coders.registry import REGISTRY, installed

    return [name for name in REGISTRY if installed(name, project)]


def validate(
    project: Project,
    gold: Gold,
    *,
    coders: Sequence[str] | None = None,
    folds: int = 5,
    n_boot: int = 1000,
    seed: int = 0,
    top: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> Validation:
    """Per-category P/R/F1 with bootstrap intervals, confusions and Krippendorff's alpha.
    ``progress(done, total)``: after the cross-fitted predictions, then after each coder."""
    from secprio.coders.build import project_base
    from secprio.coders.crossfit import cross_fit
    from secprio.coders.registry import check, configured, resolve
    from secprio.coders.supervised import gold_examples
    from secprio.measure.agreement import by_category

    cats = project.codebook.ids()
    check(list(coders or []))
    coders = list(dict.fromkeys(resolve(c, project) for c in coders or available_coders(project)))
    reference = gold.coders[0]
    examples = gold_examples(gold, cats, coder=reference)
    units = list(gold.units([reference])["unit"])
    step = progress or (lambda _done, _total: None)
    total = 1 + len(coders)
    step(0, total)
    # each coder with the project's settings; one that learns is cross-fitted (none codes a
    # sentence it learned from), one that does not codes every sentence
    built = {name: configured(name, project, random_state=seed) for name in coders}
    preds = cross_fit(
        built, examples, categories=cats, base=project_base(project), folds=folds, seed=seed
    )
    step(1, total)
    metrics, confused, alphas = [], [], []
    human = gold.all_labels()
    for done, name in enumerate(coders, 2):
        m = evaluate(examples.labels, preds[name], cats, n_boot=n_boot, seed=seed)
        metrics.append(m.assign(coder=name))
        c = confusions(examples.labels, preds[name], cats, texts=examples.texts, top=top)
        confused.append(c.assign(coder=name))
        machine = {
            u: {cats[j] for j in np.flatnonzero(row)}
            for u, row in zip(units, preds[name], strict=True)
        }
        labels: dict[str, Mapping[str, frozenset[str] | set[str]]] = {
            reference: human[reference],
            name: machine,
        }
        a = by_category(labels, [reference, name], cats, n_boot=n_boot, seed=seed)
        alphas.append(a.assign(pair=f"{name} vs {reference}"))
        step(done, total)
    for other in gold.coders[1:]:
        a = by_category(human, [reference, other], cats, n_boot=n_boot, seed=seed)
        alphas.append(a.assign(pair=f"{other} vs {reference}"))
    return Validation(
        gold.path,
        reference,
        len(units),
        folds,
        _front(metrics, "coder"),
        _front(confused, "coder"),
        _front(alphas, "pair"),
        coders,
    )


def _front(parts: list[pd.DataFrame], column: str) -> pd.DataFrame:
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[column])
    return df[[column, *[c for c in df.columns if c != column]]]


def f1_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Categories × coders of F1, macro last: the side-by-side comparison."""
    wide = metrics.pivot(index="category", columns="coder", values="f1")
    order = [c for c in metrics["category"].drop_duplicates() if c != "macro"] + ["macro"]
    coders = list(metrics["coder"].drop_duplicates())
    return wide.loc[order, coders].reset_index()
