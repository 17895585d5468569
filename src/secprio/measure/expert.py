"""Expert vs evidence: an expert assessment (ratings and threat → response pairs) set beside
the scores computed from the documents.

Per category: difference = evidence points − expert rating (both on 1–9). Overall: Spearman's
ρ and Kendall's τ-b between the expert ratings and the evidence scores, each with a 95%
percentile interval from a bootstrap over documents (resample documents, recompute salience and
the 1–9 scores, recompute the correlation). With seven categories and tied expert ratings
the intervals are wide: read them before the point estimates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.stats import kendalltau, rankdata, spearmanr

from secprio.codebook.model import Codebook
from secprio.errors import MeasureError
from secprio.measure.bootstrap import interval, replicates
from secprio.measure.counts import DocCounts, from_sentences
from secprio.measure.scale import to_scale


@dataclass(frozen=True)
class Assessment:
    name: str
    ratings: dict[str, float]
    citation: str = ""
    scale: str = "1-9"
    pairs: dict[str, list[str]] = field(default_factory=dict)  # threat -> responses
    notes: dict[str, str] = field(default_factory=dict)  # threat -> the expert's wording


def load(path: Path | str, *, categories: list[str] | None = None) -> Assessment:
    """Read ``expert.yaml``; ratings and pairs must name codebook categories when given."""
    path = Path(path)
    try:
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MeasureError(
            f"cannot read the expert assessment: {exc}",
            path=path,
            hint="see docs/formats.md, 'Expert assessment'",
            code="E511",
        ) from exc
    ratings = {str(k): float(v) for k, v in (raw.get("ratings") or {}).items()}
    pairs = {
        str(p["threat"]): [str(r) for r in p.get("responses", [])] for p in raw.get("pairs") or []
    }
    notes = {
        str(p["threat"]): " ".join(str(p.get("note", "")).split()) for p in raw.get("pairs") or []
    }
    named = set(ratings) | set(pairs) | {r for rs in pairs.values() for r in rs}
    unknown = sorted(named - set(categories)) if categories is not None else []
    if not ratings or unknown:
        what = f"unknown categories {', '.join(unknown)}" if unknown else "no ratings"
        raise MeasureError(
            f"expert assessment: {what}",
            path=path,
            hint="ratings: {category_id: 1-9, ...} with the codebook's ids",
            code="E510",
        )
    return Assessment(
        name=str(raw.get("name", path.stem)),
        ratings=ratings,
        citation=" ".join(str(raw.get("citation", "")).split()),
        scale=str(raw.get("scale", "1-9")),
        pairs=pairs,
        notes=notes,
    )


def differences(scores: pd.DataFrame, assessment: Assessment) -> pd.DataFrame:
    """Per rated category: expert rating, evidence score (with interval) and their difference."""
    s = scores.set_index("category")
    rows = []
    for cat, rating in assessment.ratings.items():
        if cat not in s.index:
            continue
        r = s.loc[cat]
        none = pd.isna(r["points"])  # no coded sentence: nothing to set beside the rating
        points = pd.NA if none else int(r["points"])
        rows.append(
            {
                "category": cat,
                "label": r["label"],
                "expert": rating,
                "evidence": r.get("evidence", "measured"),
                "evidence_score": r["score"],
                "evidence_lo": r["score_lo"],
                "evidence_hi": r["score_hi"],
                "evidence_points": points,
                "diff": pd.NA if none else int(points) - rating,
                "diff_score": r["score"] - rating,
                "expert_in_interval": (
                    pd.NA if none else bool(r["score_lo"] <= rating <= r["score_hi"])
                ),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.astype({"evidence_points": "Int64", "diff": "Int64"})


def by_frame(scores: pd.DataFrame, assessment: Assessment) -> pd.DataFrame:
    """:func:`differences` for every frame of ``scores`` (all documents, each period, …), one
    block of rows per frame in the frames' order, with the cell's evidence counts."""
    parts = []
    for frame in dict.fromkeys(scores["frame"]):
        mine = scores[scores["frame"] == frame]
        diff = differences(mine, assessment)
        if diff.empty:
            continue
        counts = mine.set_index("category")[["n_coded", "n_docs_coded", "n_documents"]]
        parts.append(diff.join(counts, on="category").assign(frame=frame))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[["frame", *[c for c in out.columns if c != "frame"]]]


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of ``a`` with each row of ``b`` (ties: average ranks, as scipy's
    ``spearmanr``); NaN where either side is constant. One array operation for all bootstrap
    replicates instead of a scipy call each."""
    ra = rankdata(a) - (len(a) + 1) / 2
    rb = rankdata(np.atleast_2d(b), axis=1) - (len(a) + 1) / 2
    den = np.sqrt((ra**2).sum() * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rb @ ra) / np.where(den > 0, den, 1), np.nan)


def kendall_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of ``a`` with each row of ``b`` (as scipy's ``kendalltau``): concordant
    minus discordant pairs over the geometric mean of the pairs untied on each side; NaN where
    either side is constant."""
    i, j = np.triu_indices(len(a), k=1)
    sa = np.sign(a[i] - a[j])
    sb = np.sign(np.atleast_2d(b)[:, i] - np.atleast_2d(b)[:, j])
    den = np.sqrt(np.count_nonzero(sa) * np.count_nonzero(sb, axis=1).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (sb @ sa) / np.where(den > 0, den, 1), np.nan)


def correlations(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    assessment: Assessment,
    *,
    scale: str = "ratio",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Spearman and Kendall correlations between expert ratings and evidence scores."""
    counts = from_sentences(sentences, codings, codebook.ids())
    return correlations_counts(
        counts, codebook, assessment, scale=scale, n_boot=n_boot, seed=seed, level=level
    )


def correlations_counts(
    counts: DocCounts,
    codebook: Codebook,
    assessment: Assessment,
    *,
    scale: str = "ratio",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """``correlations`` from per-document counts (secprio.measure.counts)."""
    rated = [c for c in assessment.ratings if c in codebook.ids()]
    kinds = {codebook.get(c).kind for c in rated}
    if len(rated) < 3 or len(kinds) != 1:
        raise MeasureError(
            "need at least 3 rated categories of one kind", hint="check ratings", code="E509"
        )
    cats = codebook.ids(kinds.pop())
    cols = [cats.index(c) for c in rated]
    expert = np.array([assessment.ratings[c] for c in rated])
    w_tot, c_tot = counts.totals(cats)
    point = to_scale(c_tot.sum(axis=0) / max(w_tot.sum(), 1e-12), scale)[cols]
    boot = to_scale(replicates(w_tot, c_tot, n=n_boot, seed=seed), scale)[:, cols]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant replicate gives NaN, dropped below
        for name, fn in (("spearman", spearman_rows), ("kendall", kendall_rows)):
            est = float(fn(expert, point)[0])
            reps = fn(expert, boot)
            reps = reps[~np.isnan(reps)]
            lo, hi = interval(reps, level) if len(reps) else (np.nan, np.nan)
            test = spearmanr(expert, point) if name == "spearman" else kendalltau(expert, point)
            rows.append(
                {
                    "method": name,
                    "estimate": est,
                    "lo": float(lo),
                    "hi": float(hi),
                    "p": float(test[1]),
                    "n_categories": len(rated),
                    "n_boot_valid": len(reps),
                    "scale": scale,
                }
            )
    return pd.DataFrame(rows)
