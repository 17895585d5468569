"""Trends: yearly salience with intervals; the projection, its interval and when it is withheld."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t
from typer.testing import CliRunner

from secprio.cli import app
from secprio.codebook.model import Category, Codebook
from secprio.measure import trends
from secprio.project import Project

CB = Codebook(
    name="t",
    version="1",
    categories=(Category(id="mil", kind="priority", label="Military", definition="d"),),
)


def _corpus(per_year: dict[int, tuple[int, int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """year -> (documents, sentences per document, coded sentences per document)."""
    rows, cods, sid, doc = [], [], 0, 0
    for year, (n_docs, n, k) in per_year.items():
        for _ in range(n_docs):
            for i in range(n):
                rows.append(
                    {"segment_id": sid, "document_id": doc, "year": float(year), "weight": 1.0}
                )
                if i < k:
                    cods.append({"segment_id": sid, "category": "mil", "value": 1})
                sid += 1
            doc += 1
    return pd.DataFrame(rows), pd.DataFrame(cods)


def test_per_year_salience_and_interval() -> None:
    sents, cods = _corpus({2019: (3, 10, 2), 2020: (2, 10, 5)})
    df = trends.per_year(sents, cods, CB, n_boot=200, seed=3).set_index("year")
    assert df.loc[2019, "salience"] == pytest.approx(0.2)
    assert df.loc[2020, "salience"] == pytest.approx(0.5)
    # identical documents: the bootstrap cannot move the salience
    assert df.loc[2019, "salience_lo"] == df.loc[2019, "salience_hi"] == pytest.approx(0.2)
    assert list(df["n_sentences"]) == [30, 20]


def test_wls_with_equal_weights_is_the_ols_prediction_interval() -> None:
    x = np.arange(8, dtype=float) - 3.5
    y = np.array([0.10, 0.12, 0.11, 0.15, 0.16, 0.15, 0.19, 0.20])
    x0 = np.array([4.5, 5.5])
    pred, lo, hi = trends.wls_line(x, y, np.full(8, 40.0), x0)
    slope, icpt = np.polyfit(x, y, 1)
    assert pred == pytest.approx(icpt + slope * x0)
    s2 = np.sum((y - (icpt + slope * x)) ** 2) / 6
    half = student_t.ppf(0.975, 6) * np.sqrt(
        s2 * (1 + 1 / 8 + (x0 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    )
    assert hi - pred == pytest.approx(half)
    assert pred - lo == pytest.approx(half)


def test_wls_weights_pull_the_line_toward_heavy_years() -> None:
    x = np.array([0.0, 1, 2, 3, 4, 5])
    y = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.5])
    light, _, _ = trends.wls_line(x, y, np.array([50, 50, 50, 50, 50, 1.0]), np.array([6.0]))
    heavy, _, _ = trends.wls_line(x, y, np.array([50, 50, 50, 50, 50, 500.0]), np.array([6.0]))
    assert heavy[0] > light[0]


def test_projection_is_withheld_when_thin_and_labelled_when_made() -> None:
    thin = {2015 + k: (2, 20 if k % 2 else 10, 2) for k in range(8)}  # 20 or 40 sentences
    yearly = trends.per_year(*_corpus(thin), CB, n_boot=50, seed=1)
    withheld = trends.projection(yearly)
    assert len(withheld) == 1 and withheld["status"].iat[0].startswith("withheld: 4 year(s)")
    rich = {2015 + k: (2, 20, 2 + k) for k in range(7)}
    yearly = trends.per_year(*_corpus(rich), CB, n_boot=50, seed=1)
    made = trends.projection(yearly, years=2)
    assert made["year"].tolist() == [2022, 2023]
    assert (made["status"] == "extrapolation").all()
    assert (made["pi_lo"] <= made["salience"]).all() and (made["salience"] <= made["pi_hi"]).all()
    assert made["pi_hi"].max() <= 1.0 and made["pi_lo"].min() >= 0.0
    assert made["salience"].iat[0] == pytest.approx((2 + 7) / 20, abs=1e-9)  # a straight line


def test_trends_command(coded: Project) -> None:
    res = CliRunner().invoke(app, ["trends", "-p", str(coded.root)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "2019" in res.output and "no projection: withheld" in res.output
