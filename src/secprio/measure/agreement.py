"""Krippendorff's alpha (nominal), unitized per sentence, from the coincidence matrix.

For one category every sentence is a unit and each coder's value is 1 (applied) or 0 (not):
agreement on whole sentences, never on character overlap, which inflates agreement because
the long uncoded stretches between codings count as matches. Conventions (Krippendorff 2004,
ch. 11): alpha >= .800 is reliable; .667 <= alpha < .800 allows tentative conclusions only;
below .667 the coding should not be relied on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

RELIABLE, TENTATIVE = 0.800, 0.667
Labels = Mapping[str, Mapping[str, frozenset[str] | set[str]]]  # coder -> unit -> categories


def unit_coincidences(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit coincidence matrices of a coders × units array (NaN = not coded).

    Returns the sorted values and an array ``(units, v, v)``: unit u adds, for each ordered
    pair of values from two different coders, 1 / (m_u - 1) where m_u is the number of
    values the unit got. Units with fewer than two values add nothing (they are unpairable).
    """
    data = np.asarray(data, dtype=float)
    values = np.unique(data[~np.isnan(data)])
    counts = np.stack([(data == v).sum(axis=0) for v in values], axis=1)  # units × v
    m = counts.sum(axis=1)
    pairable = m >= 2
    outer = counts[:, :, None] * counts[:, None, :] - np.einsum(
        "uv,vw->uvw", counts, np.eye(len(values))
    )  # pairs of *different* coders
    scale = np.where(pairable, 1.0 / np.maximum(m - 1, 1), 0.0)
    return values, outer * scale[:, None, None]


def alpha_from(coincidence: np.ndarray) -> float:
    """Nominal alpha of a (v, v) coincidence matrix; NaN when there is no variation."""
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    disagree = coincidence.sum() - np.trace(coincidence)
    expected = n_c.sum() ** 2 - (n_c**2).sum()  # sum over c != k of n_c n_k
    if expected == 0:
        return float("nan")  # every value identical: alpha is undefined, not 1
    return float(1.0 - (n - 1) * disagree / expected)


def alpha(data: np.ndarray) -> float:
    """Krippendorff's alpha, nominal, for a coders × units array with NaN for missing."""
    _, per_unit = unit_coincidences(data)
    return alpha_from(per_unit.sum(axis=0))


def alpha_interval(
    data: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval from resampling units with replacement."""
    _, per_unit = unit_coincidences(data)
    n_units = per_unit.shape[0]
    if n_units == 0 or n_boot <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot)
    v = per_unit.shape[1]
    boot = (weights.astype(float) @ per_unit.reshape(n_units, v * v)).reshape(-1, v, v)
    alphas = _alphas(boot)
    alphas = alphas[~np.isnan(alphas)]
    if alphas.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(alphas, [tail, 100 - tail])
    return float(lo), float(hi)


def _alphas(coincidences: np.ndarray) -> np.ndarray:
    """alpha_from over a stack of coincidence matrices (one per bootstrap replicate)."""
    n_c = coincidences.sum(axis=2)
    n = n_c.sum(axis=1)
    disagree = coincidences.sum(axis=(1, 2)) - np.trace(coincidences, axis1=1, axis2=2)
    expected = n**2 - (n_c**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - (n - 1) * disagree / expected
    return np.where((expected > 0) & (n > 1), out, np.nan)


def verdict(a: float) -> str:
    if np.isnan(a):
        return "undefined"
    return "reliable" if a >= RELIABLE else "tentative" if a >= TENTATIVE else "unreliable"


def reliability_data(
    labels: Labels, coders: Sequence[str], category: str, units: Sequence[str]
) -> np.ndarray:
    """coders × units of 1/0 for one category, NaN where a coder did not see the unit."""
    data = np.full((len(coders), len(units)), np.nan)
    for i, coder in enumerate(coders):
        seen = labels.get(coder, {})
        for j, u in enumerate(units):
            if u in seen:
                data[i, j] = 1.0 if category in seen[u] else 0.0
    return data


def by_category(
    labels: Labels,
    coders: Sequence[str],
    categories: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Alpha per category between ``coders``, over the units at least two of them coded."""
    units = sorted(set().union(*(labels.get(c, {}).keys() for c in coders)))
    rows = []
    pooled = []
    for cat in categories:
        data = reliability_data(labels, coders, cat, units)
        pooled.append(data)
        rows.append(_row(cat, data, n_boot=n_boot, seed=seed))
    if pooled:
        # every (sentence, category) cell as one unit: a single summary over the codebook
        rows.append(_row("all categories (pooled)", np.hstack(pooled), n_boot=n_boot, seed=seed))
    return pd.DataFrame(rows)


def _row(category: str, data: np.ndarray, *, n_boot: int, seed: int) -> dict[str, object]:
    paired = (~np.isnan(data)).sum(axis=0) >= 2
    a = alpha(data)
    lo, hi = alpha_interval(data, n_boot=n_boot, seed=seed)
    return {
        "category": category,
        "alpha": a,
        "alpha_lo": lo,
        "alpha_hi": hi,
        "n_units": int(paired.sum()),
        "n_coded": int(np.nansum(data[:, paired])),
        "verdict": verdict(a),
    }
