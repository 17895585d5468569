"""Case windows: salience before vs after an event, with a bootstrap interval on the change.

Documents dated in [event − before, event) form the "before" window, those in
[event, event + after] the "after" window. Salience per category is computed in each window;
the difference (after − before) gets a percentile interval from a bootstrap that resamples
documents within each window independently (two seeded generators).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd

from secprio.codebook.model import Codebook
from secprio.errors import MeasureError
from secprio.measure.bootstrap import MIN_DOCS, interval, replicates
from secprio.measure.counts import DocCounts, from_sentences

__all__ = ["MIN_DOCS", "bounds", "offset", "window", "window_counts"]
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([ymwd])\s*$", re.IGNORECASE)


def offset(span: str) -> pd.DateOffset:
    """'2y', '18m', '6w' or '90d' as a calendar offset."""
    m = _SPAN.match(str(span))
    if not m:
        raise MeasureError(
            f"cannot read the span {span!r}",
            hint="write a number and a unit: 2y, 18m, 6w or 90d",
            code="E520",
        )
    n, unit = float(m.group(1)), m.group(2).lower()
    if unit == "y":
        return pd.DateOffset(months=round(12 * n))
    if unit == "m":
        return pd.DateOffset(months=round(n))
    return pd.DateOffset(days=round(n * (7 if unit == "w" else 1)))


def bounds(event: dt.date, before: str, after: str) -> tuple[pd.Timestamp, ...]:
    e = pd.Timestamp(event)
    return e - offset(before), e, e + offset(after)


def _window(
    counts: DocCounts, mask: np.ndarray, cats: list[str], *, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, int]:
    sub = counts.select(mask)
    if sub.documents.empty:
        k = len(cats)
        return np.full(k, np.nan), np.full((n_boot, k), np.nan), 0
    w_tot, c_tot = sub.totals(cats)
    point = c_tot.sum(axis=0) / max(w_tot.sum(), 1e-12)
    return point, replicates(w_tot, c_tot, n=n_boot, seed=seed), len(sub.documents)


def window(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    event: dt.date,
    before: str = "2y",
    after: str = "2y",
    n_boot: int = 1000,
    seed: int = 0,
    event_id: str = "",
) -> pd.DataFrame:
    """One row per category: salience before and after, the change and its 95% interval."""
    return window_counts(
        from_sentences(sentences, codings, codebook.ids()), codebook, event=event,
        before=before, after=after, n_boot=n_boot, seed=seed, event_id=event_id,
    )  # fmt: skip


def window_counts(
    counts: DocCounts,
    codebook: Codebook,
    *,
    event: dt.date,
    before: str = "2y",
    after: str = "2y",
    n_boot: int = 1000,
    seed: int = 0,
    event_id: str = "",
) -> pd.DataFrame:
    """``window`` from per-document counts (secprio.measure.counts)."""
    lo, mid, hi = bounds(event, before, after)
    docs = counts.documents
    dates = pd.to_datetime(docs["date"], errors="coerce", format="ISO8601")
    masks = ((dates >= lo) & (dates < mid)).to_numpy(), ((dates >= mid) & (dates <= hi)).to_numpy()
    cats = codebook.ids()
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31, size=2)
    (p0, b0, n0), (p1, b1, n1) = (
        _window(counts, m, cats, n_boot=n_boot, seed=int(s))
        for m, s in zip(masks, seeds, strict=True)
    )
    diff = b1 - b0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN when a window is empty
        d_lo, d_hi = interval(diff)
        s0_lo, s0_hi = interval(b0)
        s1_lo, s1_hi = interval(b1)
    note = "; ".join(
        f"{name} window has {n} document(s), fewer than {MIN_DOCS}"
        for name, n in (("before", n0), ("after", n1))
        if n < MIN_DOCS
    )
    n_sent = [int(counts.n_sentences[m].sum()) for m in masks]
    rows = []
    for i, c in enumerate(codebook.categories):
        rows.append(
            {
                "event": event_id,
                "category": c.id,
                "label": c.label,
                "kind": c.kind,
                "n_docs_before": n0,
                "n_docs_after": n1,
                "n_sentences_before": n_sent[0],
                "n_sentences_after": n_sent[1],
                "salience_before": p0[i],
                "salience_before_lo": s0_lo[i],
                "salience_before_hi": s0_hi[i],
                "salience_after": p1[i],
                "salience_after_lo": s1_lo[i],
                "salience_after_hi": s1_hi[i],
                "diff": p1[i] - p0[i],
                "diff_lo": d_lo[i],
                "diff_hi": d_hi[i],
                "warning": note,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update(
        start=lo.date().isoformat(), event=mid.date().isoformat(), end=hi.date().isoformat()
    )
    return out
