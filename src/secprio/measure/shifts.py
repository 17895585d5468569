"""Shift detection: has a category's share of sentences changed in the newest window?

For each category and frame (all documents, and optionally one frame per value of a metadata
field: ``doc_type``, ``members``, ...), the sentences of the *window* (the newest documents) are
compared with those of the *baseline* (the documents before them):

- counts: ``n_w`` / ``n_b`` sentences in the window / baseline, ``k_w`` / ``k_b`` of them coded
  with the category (effective codings: a human decision wins over the machine's);
- test: the conditional binomial test of two Poisson rates with exposures ``n_w`` and ``n_b``.
  Under "no change" the category's rate per sentence is the same in both windows, so given the
  ``k = k_w + k_b`` coded sentences, ``k_w ~ Binomial(k, n_w / (n_w + n_b))``. The test is
  exact (``scipy.stats.binomtest``, two-sided), so a shift up and a shift down are both found;
- effect size: the rate ratio ``(k_w / n_w) / (k_b / n_b)`` with the 95% interval obtained by
  mapping the exact (Clopper–Pearson) interval of the binomial proportion ``p`` through
  ``RR = p / (1 - p) * n_b / n_w`` (so the interval and the test agree);
- false discovery control: Benjamini–Hochberg at ``fdr`` over every (frame, category) row that
  was tested. When nothing changed at all, BH at ``fdr`` also bounds the chance of *any* alert
  in a run by ``fdr`` (the declared false-alert rate per run);
- quiet by default: a frame is not tested unless the window and the baseline each hold at least
  ``min_documents`` documents and ``min_sentences`` sentences, and a significant rise only
  alerts when its coded sentences in the window come from at least ``min_docs_with``
  different documents (one long document repeating a phrase is not a change of priorities).

Counts are unweighted (the binomial needs counts): document-type weights do not enter the test.
Sentences are treated as independent given the rate; sentences of one document are in fact
correlated, which makes the test anti-conservative on real text — the document guards above
are the first defence, a document-level (cluster) test is the next step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from secprio.codebook.model import Codebook
from secprio.errors import MeasureError
from secprio.measure import groups
from secprio.measure.scores import coded_matrix
from secprio.measure.windows import offset

__all__ = ["COLUMNS", "cycle_windows", "date_windows", "shifts"]

ALL = "all"
TEST = (
    "two-sided conditional binomial test of the window's rate per sentence against the "
    "baseline's (exact), rate ratio with an exact 95% interval, Benjamini–Hochberg across "
    "categories and frames"
)
COLUMNS = [
    "frame", "group", "category", "label", "kind", "direction",
    "window_documents", "window_sentences", "window_count",
    "baseline_documents", "baseline_sentences", "baseline_count",
    "window_share", "baseline_share", "rate_ratio", "ratio_low", "ratio_high",
    "p_value", "q_value", "significant", "evidence_documents", "segment_ids", "reason",
]  # fmt: skip


def date_windows(
    sentences: pd.DataFrame, window: str = "30d", baseline: str = "", end: str | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Masks over ``sentences``: the window (end − ``window``, end] by document date, and the
    baseline before it (all earlier dated documents, or only the ``baseline`` span before the
    window). ``end`` defaults to the newest document date. Undated documents are in neither."""
    dates = pd.to_datetime(sentences["date"].replace("", None), errors="coerce", format="ISO8601")
    if dates.isna().all():
        raise MeasureError(
            "no document has a date, so there is no newest window",
            hint="give documents a date (front matter, sidecar or metadata.csv), "
            "or use --window new",
        )
    hi = pd.Timestamp(end) if end else dates.max()
    lo = hi - offset(window)
    base_lo = lo - offset(baseline) if baseline else pd.Timestamp.min
    win = ((dates > lo) & (dates <= hi)).to_numpy()
    base = ((dates > base_lo) & (dates <= lo)).to_numpy()
    info = {
        "window": f"{(lo + pd.Timedelta(days=1)).date()} to {hi.date()}",
        "baseline": (f"{(base_lo + pd.Timedelta(days=1)).date()}" if baseline else "start")
        + f" to {lo.date()}",
    }
    return win, base, info


def cycle_windows(
    sentences: pd.DataFrame, new_documents: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """The window is the new documents (e.g. those since the last shift test), the baseline
    every other active document."""
    win = sentences["document_id"].isin(list(new_documents)).to_numpy()
    info = {"window": f"{len(set(new_documents))} new document(s)",
            "baseline": "every other document"}  # fmt: skip
    return win, ~win, info


def _ratio(k_w: int, k_b: int, n_w: int, n_b: int) -> tuple[float, float, float, float]:
    """p-value, rate ratio and its exact 95% interval."""
    k = k_w + k_b
    res = stats.binomtest(k_w, k, n_w / (n_w + n_b))
    ci = res.proportion_ci(confidence_level=0.95, method="exact")

    def rr(p: float) -> float:
        return float("inf") if p >= 1 else p / (1 - p) * n_b / n_w

    point = float("inf") if k_b == 0 else (k_w / n_w) / (k_b / n_b)
    return float(res.pvalue), point, rr(ci.low), rr(ci.high)


def _frames(sentences: pd.DataFrame, by: Sequence[str], attribution: str):
    yield ALL, "", np.arange(len(sentences))
    for field in by:
        assigned = groups.assign(sentences, field, attribution=attribution)
        for value, rows in assigned.groupby("group", sort=True):
            yield field, str(value), rows["pos"].to_numpy(dtype=int)


def shifts(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    window: np.ndarray,
    baseline: np.ndarray,
    by: Sequence[str] = (),
    attribution: str = "issuer",
    fdr: float = 0.05,
    min_documents: int = 5,
    min_sentences: int = 50,
    min_docs_with: int = 2,
    top: int = 5,
) -> pd.DataFrame:
    """One row per (frame, group, category); ``significant`` marks the alerts and
    ``segment_ids`` the sentences that drive each one (the window's coded sentences for a
    rise, the baseline's for a fall; one per document first, most confident, then newest).
    ``reason`` says why a row was not tested or not alerted."""
    if not 0 < fdr < 1:
        raise MeasureError(f"the false discovery rate {fdr} is not between 0 and 1",
                           hint="give e.g. --fdr 0.05")  # fmt: skip
    window, baseline = np.asarray(window, bool), np.asarray(baseline, bool)
    if window.shape != (len(sentences),) or baseline.shape != (len(sentences),):
        raise MeasureError("the window masks do not match the sentences",
                           hint="build them with date_windows or cycle_windows")  # fmt: skip
    cats = codebook.ids()
    by_id = {c.id: c for c in codebook.categories}
    coded = coded_matrix(sentences, codings, cats)
    conf = _confidence(sentences, codings, cats)
    docs = sentences["document_id"].to_numpy()
    seg = sentences["segment_id"].to_numpy()
    dates = sentences["date"].fillna("").astype(str).to_numpy()
    rows: list[dict[str, object]] = []
    for frame, group, pos in _frames(sentences, by, attribution):
        w, b = pos[window[pos]], pos[baseline[pos]]
        d_w, d_b = len(np.unique(docs[w])), len(np.unique(docs[b]))
        quiet = ""
        if d_w < min_documents or len(w) < min_sentences:
            quiet = (f"quiet: the window has {d_w} document(s) and {len(w)} sentence(s), "
                     f"fewer than {min_documents} and {min_sentences}")  # fmt: skip
        elif d_b < min_documents or len(b) < min_sentences:
            quiet = (f"quiet: the baseline has {d_b} document(s) and {len(b)} sentence(s), "
                     f"fewer than {min_documents} and {min_sentences}")  # fmt: skip
        for j, cat in enumerate(cats):
            k_w, k_b = int(coded[w, j].sum()), int(coded[b, j].sum())
            row: dict[str, object] = {
                "frame": frame, "group": group, "category": cat,
                "label": by_id[cat].label, "kind": str(by_id[cat].kind), "direction": "",
                "window_documents": d_w, "window_sentences": len(w), "window_count": k_w,
                "baseline_documents": d_b, "baseline_sentences": len(b), "baseline_count": k_b,
                "window_share": k_w / len(w) if len(w) else np.nan,
                "baseline_share": k_b / len(b) if len(b) else np.nan,
                "rate_ratio": np.nan, "ratio_low": np.nan, "ratio_high": np.nan,
                "p_value": np.nan, "q_value": np.nan, "significant": False,
                "evidence_documents": len(np.unique(docs[w][coded[w, j] > 0])),
                "segment_ids": [], "reason": quiet,
            }  # fmt: skip
            if not quiet and k_w + k_b == 0:
                row["reason"] = "no coded sentence in either window"
            elif not quiet:
                p, rr, lo, hi = _ratio(k_w, k_b, len(w), len(b))
                row.update(p_value=p, rate_ratio=rr, ratio_low=lo, ratio_high=hi)
                up = k_w * len(b) > k_b * len(w)
                row["direction"] = "up" if up else "down"
                side = w if up else b
                hit = side[coded[side, j] > 0]
                row["segment_ids"] = _evidence(hit, seg, docs, dates, conf[:, j], top)
            rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    tested = out["p_value"].notna()
    if tested.any():
        out.loc[tested, "q_value"] = stats.false_discovery_control(
            out.loc[tested, "p_value"].to_numpy(dtype=float), method="bh"
        )
        sig = tested & (out["q_value"] <= fdr)
        thin = sig & (out["direction"] == "up") & (out["evidence_documents"] < min_docs_with)
        out.loc[thin, "reason"] = (
            f"significant, but its sentences come from fewer than {min_docs_with} documents"
        )
        out.loc[tested & ~sig, "reason"] = f"not significant at FDR {fdr}"
        out["significant"] = sig & ~thin
    out.attrs.update(test=TEST, fdr=fdr)
    return out


def _evidence(
    hit: np.ndarray, seg: np.ndarray, docs: np.ndarray, dates: np.ndarray, conf: np.ndarray,
    top: int,
) -> list[int]:  # fmt: skip
    """The segment ids of up to ``top`` coded sentences: one per document first (so the list
    shows how widespread a shift is), each round most confident first, then newest."""
    order = hit[np.lexsort((seg[hit], _neg(dates[hit]), -conf[hit]))]
    rank = pd.Series(docs[order]).groupby(docs[order]).cumcount().to_numpy()
    return [int(s) for s in seg[order[np.argsort(rank, kind="stable")]][:top]]


def _neg(dates: np.ndarray) -> np.ndarray:
    """A sort key that puts the newest ISO date first (lexsort sorts ascending)."""
    keys = pd.to_datetime(pd.Series(dates).replace("", None), errors="coerce", format="ISO8601")
    return -keys.map(lambda d: d.value if pd.notna(d) else np.iinfo(np.int64).min + 1).to_numpy()


def _confidence(sentences: pd.DataFrame, codings: pd.DataFrame, cats: list[str]) -> np.ndarray:
    """The highest confidence of an applied coding per sentence and category (0 when none)."""
    mat = np.zeros((len(sentences), len(cats)))
    if codings.empty:
        return mat
    pos = pd.Series(np.arange(len(sentences)), index=sentences["segment_id"].to_numpy())
    col = {c: i for i, c in enumerate(cats)}
    hits = codings[(codings["value"] == 1) & codings["category"].isin(col)]
    hits = hits[hits["segment_id"].isin(pos.index)]
    conf = hits["confidence"] if "confidence" in hits else pd.Series(1.0, index=hits.index)
    best = conf.groupby([hits["segment_id"], hits["category"]]).max()
    for (s, c), v in best.items():
        mat[pos[s], col[c]] = float(v)
    return mat
