"""Threat → response links: co-occurrence of threat and priority codings within a unit.

A unit is a paragraph (default) or a block of ``window`` consecutive sentences of one document.
For each (threat t, priority p) pair over all N units: a = units with both, b = t only,
c = p only, d = neither. Lift = a·N / ((a+b)(a+c)); log-odds ratio with the Haldane–Anscombe
correction (0.5 added to every cell) and Woolf's 95% interval; Fisher's exact test, one-sided
(more co-occurrence than independence predicts); Benjamini–Hochberg q over all pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import fisher_exact, norm

from secprio.codebook.model import Codebook
from secprio.errors import Hint, MeasureError
from secprio.measure.scores import coded_matrix

UNITS = ("paragraph", "sentence")
PASSAGE_COLUMNS = ["threat", "priority", "rank", "document_id", "unit", "title", "date",
                   "doc_type", "url", "strength", "text", "unit_text"]  # fmt: skip


@dataclass(frozen=True)
class Units:
    """Which unit every sentence belongs to, and the unit × category presence matrix."""

    index: NDArray[np.int64]  # per sentence: its unit
    keys: pd.DataFrame  # per unit: document_id, unit (paragraph or block number)
    present: NDArray[np.float64]  # unit × category, 0/1


def check_unit(unit: str, window: int) -> None:
    if unit not in UNITS:
        raise MeasureError(f"unknown unit {unit!r}", hint="use paragraph or sentence", code="E518")
    if window < 1:
        raise MeasureError(
            f"window must be at least 1, not {window}",
            hint=Hint("use --window 1..n", "use window=1..n"),
            code="E517",
        )


def assign_units(
    sentences: pd.DataFrame, *, unit: str = "paragraph", window: int = 1
) -> tuple[NDArray[np.int64], pd.DataFrame]:
    """The unit of each sentence: its paragraph, or its block of ``window`` sentences."""
    check_unit(unit, window)
    if unit == "paragraph":
        local = sentences["paragraph"].to_numpy()
    else:
        # blocks do not overlap: an overlapping window would count one sentence in several units
        local = sentences["idx"].to_numpy() // window
    keys = pd.DataFrame({"document_id": sentences["document_id"].to_numpy(), "unit": local})
    codes, index = np.unique(keys.to_numpy(), axis=0, return_inverse=True)
    return index.ravel().astype(np.int64), pd.DataFrame(codes, columns=["document_id", "unit"])


def units(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    categories: list[str],
    *,
    unit: str = "paragraph",
    window: int = 1,
) -> Units:
    index, keys = assign_units(sentences, unit=unit, window=window)
    coded = coded_matrix(sentences, codings, categories)
    present = np.zeros((len(keys), len(categories)))
    np.maximum.at(present, index, coded)
    return Units(index, keys, present)


def contingency(
    threat: NDArray[np.float64], priority: NDArray[np.float64]
) -> tuple[NDArray[np.int64], ...]:
    """a, b, c, d (threat × priority arrays) from unit × category 0/1 matrices."""
    a = (threat.T @ priority).astype(np.int64)
    n_t = threat.sum(axis=0).astype(np.int64)[:, None]
    n_p = priority.sum(axis=0).astype(np.int64)[None, :]
    b, c = n_t - a, n_p - a
    d = len(threat) - a - b - c
    return a, b, c, d


def log_odds(
    a: float, b: float, c: float, d: float, level: float = 0.95
) -> tuple[float, float, float]:
    """Log-odds ratio (Haldane–Anscombe +0.5) and its Woolf interval."""
    a, b, c, d = (x + 0.5 for x in (a, b, c, d))
    lor = float(np.log(a * d / (b * c)))
    se = float(np.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    z = float(norm.ppf(0.5 + level / 2))
    return lor, lor - z * se, lor + z * se


def lift(a: float, b: float, c: float, d: float) -> float:
    n = a + b + c + d
    denom = (a + b) * (a + c)
    return float(a * n / denom) if denom else float("nan")


def bh(p: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (q), same order as ``p``."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(q, 0, 1)
    return out


def need_both(codebook: Codebook) -> tuple[list[str], list[str]]:
    threats, prios = codebook.ids("threat"), codebook.ids("priority")
    if not threats or not prios:
        raise MeasureError(
            "links need categories of both kinds, threat and priority",
            path=codebook.path,
            hint="add kind: threat categories to the codebook",
            code="E516",
        )
    return threats, prios


def link_table(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    *,
    unit: str = "paragraph",
    window: int = 1,
    alpha: float = 0.05,
    min_count: int = 2,
) -> pd.DataFrame:
    """One row per (threat, priority) pair with counts, lift, log-odds, Fisher p and BH q."""
    threats, prios = need_both(codebook)
    u = units(sentences, codings, threats + prios, unit=unit, window=window)
    t_mat, p_mat = u.present[:, : len(threats)], u.present[:, len(threats) :]
    return pair_table(contingency(t_mat, p_mat), len(u.keys), codebook, unit=unit,
                      window=window, alpha=alpha, min_count=min_count)  # fmt: skip


def pair_table(
    abcd: tuple[NDArray[np.int64], ...],
    n_units: int,
    codebook: Codebook,
    *,
    unit: str,
    window: int,
    alpha: float,
    min_count: int,
) -> pd.DataFrame:
    threats, prios = codebook.ids("threat"), codebook.ids("priority")
    a, b, c, d = abcd
    labels = {cat.id: cat.label for cat in codebook.categories}
    rows = []
    for i, t in enumerate(threats):
        for j, p in enumerate(prios):
            cells = (int(a[i, j]), int(b[i, j]), int(c[i, j]), int(d[i, j]))
            lor, lo, hi = log_odds(*cells)
            pval = float(
                fisher_exact([[cells[0], cells[1]], [cells[2], cells[3]]], alternative="greater")[1]
            )
            rows.append(
                {
                    "threat": t,
                    "threat_label": labels[t],
                    "priority": p,
                    "priority_label": labels[p],
                    "a": cells[0],
                    "b": cells[1],
                    "c": cells[2],
                    "d": cells[3],
                    "n_units": n_units,
                    "lift": lift(*cells),
                    "log_or": lor,
                    "log_or_lo": lo,
                    "log_or_hi": hi,
                    "p": pval,
                }
            )
    df = pd.DataFrame(rows)
    df["q"] = bh(df["p"].to_numpy())
    df["significant"] = (df["q"] < alpha) & (df["a"] >= min_count)
    df.attrs.update(unit=unit, window=window, alpha=alpha, min_count=min_count)
    return df


def passages(
    sentences: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    pairs: list[tuple[str, str]],
    *,
    unit: str = "paragraph",
    window: int = 1,
    top: int = 3,
) -> pd.DataFrame:
    """The ``top`` strongest units per pair: both codes present, ranked by strength.

    Strength = (matched patterns of the threat + of the priority in the unit) × document
    weight, so a declaration paragraph naming both twice outranks a news line naming each once.
    ``text`` holds the unit's sentences coded with either category, ``unit_text`` the whole
    unit. ``sentences`` must carry ``text``.
    """
    index, keys = assign_units(sentences, unit=unit, window=window)
    sents = sentences.assign(_unit=index)
    hits = codings[codings["value"] == 1].merge(sents[["segment_id", "_unit"]], on="segment_id")
    hits = hits.drop_duplicates(["segment_id", "category", "pattern"])
    n_match = hits.groupby(["_unit", "category"]).size()
    cats_of = hits.groupby("segment_id")["category"].agg(set)
    first = sents.groupby("_unit").first()
    text = sents.groupby("_unit")["text"].agg(" ".join)
    rows = []
    present = set(n_match.index.get_level_values(1))
    for t, p in pairs:
        if t not in present or p not in present:
            continue
        mt = n_match.xs(t, level="category")
        mp = n_match.xs(p, level="category")
        both = mt.index.intersection(mp.index)
        strength = (mt[both] + mp[both]) * first.loc[both, "weight"]
        ranked = sorted(both, key=lambda k: (-strength[k], str(first.at[k, "date"]), k))
        for rank, k in enumerate(ranked[:top], 1):
            f = first.loc[k]
            unit_sents = sents[sents["_unit"] == k]
            coded = [
                s
                for sid, s in zip(unit_sents["segment_id"], unit_sents["text"], strict=True)
                if cats_of.get(sid, set()) & {t, p}
            ]
            rows.append(
                {
                    "threat": t,
                    "priority": p,
                    "rank": rank,
                    "document_id": int(keys.at[k, "document_id"]),
                    "unit": int(keys.at[k, "unit"]),
                    "title": f["title"],
                    "date": f["date"] or "",
                    "doc_type": f["doc_type"],
                    "url": f["url"],
                    "strength": float(strength[k]),
                    "text": " … ".join(coded),
                    "unit_text": text[k],
                }
            )
    return pd.DataFrame(rows, columns=PASSAGE_COLUMNS)


def table1(
    links: pd.DataFrame, *, expert_pairs: dict[str, list[str]] | None = None, fallback: int = 3
) -> pd.DataFrame:
    """The "Table 1" view: every threat with its significant responses ranked by lift.

    A threat without a significant response lists its ``fallback`` best responses by lift,
    marked "not significant", so that every threat appears. The expert's pairs are shown
    beside: ``agreement`` is "agree" (both), "evidence only", "expert only" or "".
    """
    expert_pairs = expert_pairs or {}
    rows = []
    for t, part in links.groupby("threat", sort=False):
        part = part.sort_values(["lift", "a"], ascending=False, na_position="last")
        sig = part[part["significant"]]
        shown = sig if not sig.empty else part[part["a"] > 0].head(fallback)
        expert = expert_pairs.get(str(t), [])
        extra = part[part["priority"].isin(expert) & ~part["priority"].isin(shown["priority"])]
        listed = pd.concat([shown, extra])
        if listed.empty:  # the threat never co-occurs: one row says so, keeping it in the table
            listed = part.head(1).assign(priority="", priority_label="")
        for rank, r in enumerate(listed.itertuples(index=False), 1):
            in_expert = r.priority in expert
            status = (
                "significant"
                if r.significant
                else "no co-occurrence"
                if r.a == 0
                else "not significant"
            )
            agreement = (
                "agree"
                if in_expert and r.significant
                else "expert only"
                if in_expert
                else "evidence only"
                if r.significant
                else ""
            )
            rows.append(
                {
                    "threat": t,
                    "threat_label": r.threat_label,
                    "rank": rank,
                    "priority": r.priority,
                    "priority_label": r.priority_label,
                    "a": r.a,
                    "lift": r.lift,
                    "log_or": r.log_or,
                    "log_or_lo": r.log_or_lo,
                    "log_or_hi": r.log_or_hi,
                    "p": r.p,
                    "q": r.q,
                    "status": status,
                    "expert_pair": in_expert,
                    "agreement": agreement,
                }
            )
        found = {r["priority"] for r in rows if r["threat"] == t and r["status"] == "significant"}
        summary = (
            "no expert pair"
            if not expert
            else "agrees"
            if set(expert) <= found
            else "partly"
            if set(expert) & found
            else "differs"
        )
        for r in rows:
            if r["threat"] == t:
                r["threat_agreement"] = summary
    return pd.DataFrame(rows)
