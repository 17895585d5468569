"""Robustness: the baseline equals the scores; each variant changes exactly one choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secprio.codebook.model import Category, Codebook
from secprio.measure import robustness as rb
from secprio.measure.scores import ALL, score


def _codebook() -> Codebook:
    cats = tuple(
        Category(id=c, kind="priority", label=c.upper(), definition="d") for c in ("a", "b", "c")
    )
    return Codebook(name="t", version="1", categories=cats)


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    # doc 1 declaration (KZ): 4 sentences, a a b -; doc 2 news (TR): 4 sentences, b b b c;
    # doc 3 declaration (OTS): 2 sentences, a c
    sents = pd.DataFrame(
        {
            "segment_id": range(1, 11),
            "document_id": [1] * 4 + [2] * 4 + [3] * 2,
            "doc_type": ["declaration"] * 4 + ["news"] * 4 + ["declaration"] * 2,
            "issuer": ["KZ"] * 4 + ["TR"] * 4 + ["OTS"] * 2,
            "weight": [1.0] * 4 + [0.4] * 4 + [1.0] * 2,
            "period": ["p1"] * 8 + ["p2"] * 2,
        }
    )
    cods = pd.DataFrame(
        {
            "segment_id": [1, 2, 3, 5, 6, 7, 8, 9, 10],
            "category": ["a", "a", "b", "b", "b", "b", "c", "a", "c"],
            "value": [1] * 9,
        }
    )
    return sents, cods


def test_the_baseline_is_the_reported_score() -> None:
    sents, cods = _data()
    long = rb.run(sents, cods, _codebook(), scale="ratio")
    base = long[(long["variant"] == rb.BASELINE) & (long["frame"] == ALL)].set_index("category")
    want = score(sents, cods, _codebook(), n_boot=10).set_index("category")["score"]
    assert base["score"].to_dict() == pytest.approx(want.to_dict())


def test_each_variant_changes_one_choice() -> None:
    sents, cods = _data()
    long = rb.run(sents, cods, _codebook(), scale="ratio", members=["KZ", "TR"])
    names = set(long["variant"])
    assert names == {
        "baseline",
        "equal weights",
        "scale: linear",
        "scale: rank",
        "without declaration",
        "without news",
        "without KZ",
        "without TR",
    }  # OTS is no member state: never left out as one
    got = long[(long["frame"] == ALL)].set_index(["variant", "category"])["score"]
    # equal weights: a 3/10, b 4/10, c 2/10 -> b is 9, a 9 - log2(4/3)
    assert got["equal weights", "b"] == 9.0
    assert got["equal weights", "a"] == pytest.approx(9 - np.log2(4 / 3))
    # without news only docs 1 and 3 remain: a 3, b 1, c 1 of 6
    assert got["without news", "a"] == 9.0
    assert got["without news", "b"] == pytest.approx(9 - np.log2(3))
    assert got["without TR", "b"] == got["without news", "b"]  # TR issued the news document


def test_the_summary_gives_the_range_per_choice() -> None:
    sents, cods = _data()
    long = rb.run(sents, cods, _codebook(), scale="ratio", members=["KZ", "TR"])
    summ = rb.summary(long)
    row = summ[(summ["frame"] == ALL) & (summ["category"] == "b")].iloc[0]
    scores = long[(long["frame"] == ALL) & (long["category"] == "b")]["score"]
    assert row["min"] == scores.min() and row["max"] == scores.max()
    same = long[(long["frame"] == ALL) & (long["category"] == "b") & (long["choice"] != "scale")]
    assert row["same_scale_min"] == same["score"].min()
    assert row["weights_min"] <= row["baseline"] <= row["weights_max"]
    assert set(summ["frame"]) == {ALL, "p1", "p2"}
