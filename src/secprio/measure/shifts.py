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

Sentences of one document are correlated (a statement on energy says "energy" many times), so
the binomial, which treats them as independent, is anti-conservative on real text. The default
``unit="documents"`` is therefore a document-level test: a permutation test that reshuffles
whole documents between the window and the baseline (valid when, with no change, documents are
exchangeable, whatever the correlation inside them), with the same statistic (the difference of
the rates per sentence) and a rate-ratio interval from a bootstrap over documents. One long
document then moves the statistic only as much as it would wherever it fell, so it cannot make
a shift alone. ``unit="sentences"`` keeps the exact binomial. Counts are unweighted.
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

__all__ = ["COLUMNS", "UNITS", "cycle_windows", "date_windows", "shifts"]

ALL = "all"
UNITS = ("documents", "sentences")
TEST_DOCUMENTS = (
    "two-sided permutation test over documents of the difference between the window's and the "
    "baseline's rate per sentence (documents reshuffled, sentences of a document kept "
    "together), rate ratio with a 95% bootstrap interval over documents, Benjamini–Hochberg "
    "across categories and frames"
)
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
            code="E527",
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
    unit: str = "documents",
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per (frame, group, category); ``significant`` marks the alerts and
    ``segment_ids`` the sentences that drive each one (the window's coded sentences for a
    rise, the baseline's for a fall; one per document first, most confident, then newest).
    ``reason`` says why a row was not tested or not alerted."""
    if not 0 < fdr < 1:
        raise MeasureError(f"the false discovery rate {fdr} is not between 0 and 1",
                           hint="give e.g. --fdr 0.05", code="E526")  # fmt: skip
    if unit not in UNITS:
        raise MeasureError(
            f"unknown test unit {unit!r}", hint="give documents or sentences", code="E525"
        )
    window, baseline = np.asarray(window, bool), np.asarray(baseline, bool)
    if window.shape != (len(sentences),) or baseline.shape != (len(sentences),):
        raise MeasureError(
            "the window masks do not match the sentences",
            hint="build them with date_windows or cycle_windows",
            code="E524",
        )
    cats = codebook.ids()
    by_id = {c.id: c for c in codebook.categories}
    coded = coded_matrix(sentences, codings, cats)
    conf = _confidence(sentences, codings, cats)
    docs = sentences["document_id"].to_numpy()
    seg = sentences["segment_id"].to_numpy()
    dates = sentences["date"].fillna("").astype(str).to_numpy()
    rows: list[dict[str, object]] = []
    frames = list(_frames(sentences, by, attribution))
    # enough permutations that the smallest p-value can pass BH over every row
    n_perm = min(PERM_MAX, max(999, int(np.ceil(10 * len(frames) * len(cats) / fdr))))
    rng = np.random.default_rng(random_state)
    for frame, group, pos in frames:
        w, b = pos[window[pos]], pos[baseline[pos]]
        d_w, d_b = len(np.unique(docs[w])), len(np.unique(docs[b]))
        quiet = ""
        if d_w < min_documents or len(w) < min_sentences:
            quiet = (f"quiet: the window has {d_w} document(s) and {len(w)} sentence(s), "
                     f"fewer than {min_documents} and {min_sentences}")  # fmt: skip
        elif d_b < min_documents or len(b) < min_sentences:
            quiet = (f"quiet: the baseline has {d_b} document(s) and {len(b)} sentence(s), "
                     f"fewer than {min_documents} and {min_sentences}")  # fmt: skip
        by_doc = None
        if unit == "documents" and not quiet:
            by_doc = _document_test(coded, docs, w, b, n_perm, rng)
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
                if by_doc is not None:
                    p, lo, hi = by_doc[0][j], by_doc[1][j], by_doc[2][j]
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
    out.attrs.update(test=TEST_DOCUMENTS if unit == "documents" else TEST, fdr=fdr, unit=unit,
                     permutations=n_perm if unit == "documents" else 0)  # fmt: skip
    return out


PERM_MAX = 50_000  # permutations per frame at most (the smallest p-value is 1 / (n + 1))
N_BOOT = 1999  # bootstrap resamples of documents for the rate-ratio interval
CELLS = 4_000_000  # permutations × documents held in memory at once


def _units(coded: np.ndarray, docs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per document: the coded sentences per category (D × C) and the sentence count (D)."""
    ids, inv = np.unique(docs[rows], return_inverse=True)
    k = np.zeros((len(ids), coded.shape[1]))
    np.add.at(k, inv, coded[rows])
    return k, np.bincount(inv, minlength=len(ids)).astype(float)


def _document_test(
    coded: np.ndarray, docs: np.ndarray, w: np.ndarray, b: np.ndarray, n_perm: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per category: the permutation p-value over documents and the 95% bootstrap interval of
    the rate ratio. Whole documents are reshuffled between the window and the baseline, so the
    correlation of a document's sentences is kept under the null."""
    k_w, n_w = _units(coded, docs, w)
    k_b, n_b = _units(coded, docs, b)
    k, n = np.vstack([k_w, k_b]), np.concatenate([n_w, n_b])
    total_k, total_n = k.sum(0), n.sum()

    def diff(kw: np.ndarray, nw: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return kw / nw[:, None] - (total_k - kw) / (total_n - nw)[:, None]

    observed = diff(k_w.sum(0)[None], np.array([n_w.sum()]))[0]
    label = np.zeros(len(n))
    label[: len(n_w)] = 1.0
    extreme = np.zeros(k.shape[1])
    chunk = max(1, CELLS // len(n))
    for lo in range(0, n_perm, chunk):
        drawn = rng.permuted(np.tile(label, (min(chunk, n_perm - lo), 1)), axis=1)
        d = diff(drawn @ k, drawn @ n)
        extreme += (np.abs(d) >= np.abs(observed) * (1 - 1e-9)).sum(0)
    p = (1 + extreme) / (1 + n_perm)
    low, high = _bootstrap_ratio(k_w, n_w, k_b, n_b, rng)
    return p, low, high


def _bootstrap_ratio(
    k_w: np.ndarray, n_w: np.ndarray, k_b: np.ndarray, n_b: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The 2.5% and 97.5% points of the rate ratio over documents resampled (window and
    baseline separately)."""

    def rates(k: np.ndarray, n: np.ndarray) -> np.ndarray:
        wt = rng.multinomial(len(n), np.full(len(n), 1 / len(n)), size=N_BOOT).astype(float)
        return (wt @ k) / (wt @ n)[:, None]

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rates(k_w, n_w) / rates(k_b, n_b)
    # 0/0 (neither resample has the category) is left out
    return (np.nanquantile(ratio, 0.025, axis=0, method="inverted_cdf"),
            np.nanquantile(ratio, 0.975, axis=0, method="inverted_cdf"))  # fmt: skip


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
