"""Trends: salience per year with bootstrap intervals, and a cautious, labelled projection.

The projection is a weighted least-squares line through the yearly saliences (weight = the
year's number of sentences, since a proportion from more sentences varies less), extended
``years`` ahead with a prediction interval: ŷ ± t(n−2) · sqrt(σ²/w₀ + x₀ᵀ Cov(β) x₀), where
σ² = Σ wᵢ rᵢ² / (n − 2), Cov(β) = σ² (XᵀWX)⁻¹ and w₀ the median yearly weight. It is made
only from years with at least ``min_sentences`` sentences, and only when there are at least
``min_years`` of them; otherwise it is withheld, with the reason. It is always an
extrapolation: a straight line continued, not a forecast of events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from secprio.codebook.model import Codebook
from secprio.measure.bootstrap import interval, replicates
from secprio.measure.counts import DocCounts, from_sentences

MIN_YEARS = 6
MIN_SENTENCES = 30


def per_year(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (year, category): salience and its 95% bootstrap interval over documents."""
    counts = from_sentences(sentences, codings, codebook.ids())
    return per_year_counts(counts, codebook, n_boot=n_boot, seed=seed)


def per_year_counts(
    counts: DocCounts, codebook: Codebook, *, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """``per_year`` from per-document counts (secprio.measure.counts)."""
    cats = codebook.ids()
    years = counts.documents["year"]
    rows = []
    for k, year in enumerate(sorted(years[years.notna()].unique())):
        part = counts.select((years == year).to_numpy())
        w_tot, c_tot = part.totals(cats)
        n_coded = part.matrix(cats).sum(axis=0)
        point = c_tot.sum(axis=0) / max(w_tot.sum(), 1e-12)
        lo, hi = interval(replicates(w_tot, c_tot, n=n_boot, seed=seed + k))
        for i, c in enumerate(codebook.categories):
            rows.append(
                {
                    "year": int(year),
                    "category": c.id,
                    "label": c.label,
                    "kind": c.kind,
                    "n_documents": len(part.documents),
                    "n_sentences": int(part.n_sentences.sum()),
                    "n_coded": int(n_coded[i]),
                    "salience": point[i],
                    "salience_lo": lo[i],
                    "salience_hi": hi[i],
                }
            )
    return pd.DataFrame(rows)


def wls_line(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, x_new: np.ndarray, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WLS fit of y on x; the prediction and its interval at ``x_new``."""
    X = np.column_stack([np.ones_like(x), x])
    XtW = X.T * w
    xtwx_inv = np.linalg.inv(XtW @ X)
    beta = xtwx_inv @ XtW @ y
    resid = y - X @ beta
    dof = len(x) - 2
    sigma2 = float(np.sum(w * resid**2) / dof)
    X_new = np.column_stack([np.ones_like(x_new), x_new])
    pred = X_new @ beta
    var = sigma2 / np.median(w) + sigma2 * np.einsum("ij,jk,ik->i", X_new, xtwx_inv, X_new)
    half = student_t.ppf(0.5 + level / 2, dof) * np.sqrt(var)
    return pred, pred - half, pred + half


def projection(
    yearly: pd.DataFrame,
    *,
    years: int = 3,
    min_years: int = MIN_YEARS,
    min_sentences: int = MIN_SENTENCES,
    level: float = 0.95,
) -> pd.DataFrame:
    """Projected salience per category for ``years`` after the last year, or a withheld row."""
    cols = ["category", "label", "kind", "year", "salience", "pi_lo", "pi_hi", "status", "basis"]
    if yearly.empty:
        return pd.DataFrame(columns=cols)
    size = yearly.drop_duplicates("year").set_index("year")["n_sentences"]
    usable = sorted(int(y) for y, n in size.items() if n >= min_sentences)
    if len(usable) < min_years:
        reason = (
            f"withheld: {len(usable)} year(s) with at least {min_sentences} sentences, "
            f"{min_years} needed"
        )
        first = yearly.drop_duplicates("category")
        return pd.DataFrame(
            [
                {
                    "category": r.category,
                    "label": r.label,
                    "kind": r.kind,
                    "year": np.nan,
                    "salience": np.nan,
                    "pi_lo": np.nan,
                    "pi_hi": np.nan,
                    "status": reason,
                    "basis": "",
                }
                for r in first.itertuples(index=False)
            ],
            columns=cols,
        )
    x_new = np.arange(max(usable) + 1, max(usable) + 1 + years, dtype=float)
    centre = float(np.mean(usable))
    basis = f"WLS line through {len(usable)} years ({min(usable)}–{max(usable)})"
    rows = []
    for cat, part in yearly[yearly["year"].isin(usable)].groupby("category", sort=False):
        part = part.sort_values("year")
        pred, lo, hi = wls_line(
            part["year"].to_numpy(float) - centre,
            part["salience"].to_numpy(float),
            part["n_sentences"].to_numpy(float),
            x_new - centre,
            level=level,
        )
        for yr, p, a, b in zip(x_new, pred, lo, hi, strict=True):
            rows.append(
                {
                    "category": cat,
                    "label": part["label"].iat[0],
                    "kind": part["kind"].iat[0],
                    "year": int(yr),
                    "salience": float(np.clip(p, 0, 1)),
                    "pi_lo": float(np.clip(a, 0, 1)),
                    "pi_hi": float(np.clip(b, 0, 1)),
                    "status": "extrapolation",
                    "basis": basis,
                }
            )
    return pd.DataFrame(rows, columns=cols)
