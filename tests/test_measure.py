"""The 1–9 mapping, weighted salience and the bootstrap over documents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secprio.codebook.model import Category, Codebook
from secprio.measure.bootstrap import doc_totals, replicates
from secprio.measure.scale import to_scale
from secprio.measure.scores import score


def test_ratio_scale_loses_one_point_per_halving() -> None:
    s = np.array([0.40, 0.20, 0.10, 0.05, 0.0, 0.30])
    got = to_scale(s, "ratio")
    assert got[:5].tolist() == [9.0, 8.0, 7.0, 6.0, 1.0]
    assert got[5] == pytest.approx(9 - np.log2(0.4 / 0.3))


def test_ratio_scale_clips_very_rare_categories_to_one() -> None:
    assert to_scale(np.array([1.0, 1 / 1024]), "ratio").tolist() == [9.0, 1.0]


def test_linear_and_rank_scales() -> None:
    s = np.array([0.4, 0.2, 0.2, 0.0])
    assert to_scale(s, "linear").tolist() == [9.0, 5.0, 5.0, 1.0]
    assert to_scale(s, "rank").tolist() == [9.0, 8.0, 8.0, 1.0]


def test_scale_works_on_replicate_rows() -> None:
    s = np.array([[0.2, 0.1], [0.1, 0.4]])
    assert to_scale(s, "ratio").tolist() == [[9.0, 8.0], [7.0, 9.0]]


def _codebook() -> Codebook:
    cats = tuple(
        Category(id=c, kind="priority", label=c.upper(), definition="d") for c in ("a", "b")
    )
    return Codebook(name="t", version="1", categories=cats)


def _frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    # document 1: 4 sentences of weight 1, two coded a; document 2: 2 sentences of weight 0.5,
    # both coded b, one also a.
    sents = pd.DataFrame(
        {
            "segment_id": [1, 2, 3, 4, 5, 6],
            "document_id": [1, 1, 1, 1, 2, 2],
            "weight": [1, 1, 1, 1, 0.5, 0.5],
        }
    )
    cods = pd.DataFrame(
        {
            "segment_id": [1, 2, 5, 6, 5],
            "category": ["a", "a", "b", "b", "a"],
            "value": [1, 1, 1, 1, 1],
        }
    )
    return sents, cods


def test_weighted_salience_matches_hand_computation() -> None:
    sents, cods = _frame()
    df = score(sents, cods, _codebook(), n_boot=50, seed=1).set_index("category")
    assert df.loc["a", "salience"] == pytest.approx(2.5 / 5.0)
    assert df.loc["b", "salience"] == pytest.approx(1.0 / 5.0)
    assert df.loc["a", "score"] == 9.0
    assert df.loc["b", "score"] == pytest.approx(9 - np.log2(2.5))


def test_human_rejection_removes_a_coding() -> None:
    sents, cods = _frame()
    cods.loc[0, "value"] = 0
    df = score(sents, cods, _codebook(), n_boot=20, seed=1).set_index("category")
    assert df.loc["a", "salience"] == pytest.approx(1.5 / 5.0)


def test_bootstrap_is_reproducible_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(3)
    n_docs, n = 40, 400
    doc = rng.integers(0, n_docs, n)
    coded = (rng.random((n, 3)) < [0.3, 0.1, 0.05]).astype(float)
    w = np.ones(n)
    w_tot, c_tot = doc_totals(doc, w, coded, n_docs)
    a = replicates(w_tot, c_tot, n=500, seed=11)
    b = replicates(w_tot, c_tot, n=500, seed=11)
    assert np.array_equal(a, b)
    point = c_tot.sum(0) / w_tot.sum()
    lo, hi = np.percentile(a, [2.5, 97.5], axis=0)
    assert np.all(lo <= point) and np.all(point <= hi)
    # the bootstrap standard error is close to the analytic one for a proportion
    se = np.sqrt(point * (1 - point) / n)
    assert np.allclose(a.std(0), se, rtol=0.35)


def test_score_by_group_gives_one_frame_per_value() -> None:
    sents, cods = _frame()
    sents["year"] = [2020, 2020, 2020, 2020, 2021, 2021]
    df = score(sents, cods, _codebook(), n_boot=20, seed=1, by="year")
    assert sorted(df["frame"].unique()) == ["2020", "2021"]
    y21 = df[df["frame"] == "2021"].set_index("category")
    assert y21.loc["b", "salience"] == pytest.approx(1.0)
