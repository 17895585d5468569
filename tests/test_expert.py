"""Expert vs evidence: loading an assessment, differences, correlations with bootstrap CIs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr
from typer.testing import CliRunner

from secprio import packs
from secprio.cli import app
from secprio.codebook.model import Category, Codebook
from secprio.config import MeasureSettings, Settings
from secprio.errors import MeasureError
from secprio.measure import expert
from secprio.measure.scale import to_scale
from secprio.project import Project
from tests.conftest import write_doc

CB = Codebook(
    name="t",
    version="1",
    categories=tuple(
        Category(id=c, kind="priority", label=c.title(), definition="d")
        for c in ("a", "b", "c", "d")
    ),
)


def _corpus(
    shares: dict[str, int], n_docs: int = 6, n: int = 20, jitter: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(4)
    rows, cods, sid = [], [], 0
    for doc in range(n_docs):
        for i in range(n):
            rows.append({"segment_id": sid, "document_id": doc, "weight": 1.0})
            for cat, k in shares.items():
                if i < k + (int(rng.integers(-2, 3)) if jitter else 0):
                    cods.append({"segment_id": sid, "category": cat, "value": 1})
            sid += 1
    return pd.DataFrame(rows), pd.DataFrame(cods)


def test_load_the_pack_assessment() -> None:
    a = expert.load(packs.path("ots") / "expert.yaml")
    assert a.ratings["military_cooperation"] == 9 and a.ratings["border_security"] == 6
    assert len(a.ratings) == 7 and len(a.pairs) == 7
    assert a.pairs["terrorism_transnational"] == ["counter_terrorism", "border_security"]
    assert "Seed study" in a.citation


def test_load_rejects_unknown_categories(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("name: x\nratings: {a: 9, zz: 3}\n", encoding="utf-8")
    with pytest.raises(MeasureError, match="unknown categories zz"):
        expert.load(path, categories=CB.ids())


def test_differences_by_hand() -> None:
    scores = pd.DataFrame(
        {
            "category": ["a", "b"],
            "label": ["A", "B"],
            "score": [8.6, 5.2],
            "score_lo": [8.0, 4.0],
            "score_hi": [9.0, 6.0],
            "points": [9, 5],
        }
    )
    a = expert.Assessment(name="x", ratings={"a": 7, "b": 5})
    diff = expert.differences(scores, a).set_index("category")
    assert diff.loc["a", "diff"] == 2 and diff.loc["b", "diff"] == 0
    assert diff.loc["a", "diff_score"] == pytest.approx(1.6)
    assert not diff.loc["a", "expert_in_interval"] and diff.loc["b", "expert_in_interval"]


def test_differences_per_period_keep_each_frames_evidence() -> None:
    row = {"label": "A", "score_lo": 4.0, "score_hi": 9.0, "n_documents": 5, "n_sentences": 9}
    scores = pd.DataFrame(
        [
            dict(row, frame="All documents", category="a", score=8.0, points=8, n_coded=6,
                 n_docs_coded=4, evidence="measured"),
            dict(row, frame="2009-2017", category="a", score=5.0, points=5, n_coded=2,
                 n_docs_coded=1, evidence="insufficient"),
            dict(row, frame="2018-2020", category="a", score=float("nan"), points=pd.NA,
                 score_lo=float("nan"), score_hi=float("nan"), n_coded=0, n_docs_coded=0,
                 evidence="no evidence"),
        ]
    )  # fmt: skip
    per = expert.by_frame(scores, expert.Assessment(name="x", ratings={"a": 9})).set_index("frame")
    assert list(per.index) == ["All documents", "2009-2017", "2018-2020"]
    assert per.loc["All documents", "diff"] == -1 and per.loc["2009-2017", "diff"] == -4
    assert per.loc["2009-2017", "evidence"] == "insufficient"
    assert per.loc["2009-2017", "n_docs_coded"] == 1
    assert pd.isna(per.loc["2018-2020", "diff"])


def test_correlations_match_scipy_and_bootstrap() -> None:
    sents, cods = _corpus({"a": 8, "b": 4, "c": 2, "d": 1}, jitter=True)
    a = expert.Assessment(name="x", ratings={"a": 9, "b": 8, "c": 8, "d": 5})
    corr = expert.correlations(sents, cods, CB, a, n_boot=300, seed=2).set_index("method")
    coded = cods.groupby("category").size().reindex(["a", "b", "c", "d"]).to_numpy()
    evidence = to_scale(coded / len(sents))
    ratings = [9, 8, 8, 5]
    assert corr.loc["spearman", "estimate"] == pytest.approx(spearmanr(ratings, evidence)[0])
    assert corr.loc["kendall", "estimate"] == pytest.approx(kendalltau(ratings, evidence)[0])
    assert corr.loc["kendall", "p"] == pytest.approx(kendalltau(ratings, evidence)[1])
    for m in ("spearman", "kendall"):
        assert -1 <= corr.loc[m, "lo"] <= corr.loc[m, "hi"] <= 1


def test_identical_documents_give_a_degenerate_interval() -> None:
    sents, cods = _corpus({"a": 8, "b": 4, "c": 2, "d": 1})
    a = expert.Assessment(name="x", ratings={"a": 9, "b": 7, "c": 5, "d": 3})
    corr = expert.correlations(sents, cods, CB, a, n_boot=100, seed=1).set_index("method")
    assert corr.loc["spearman", ["estimate", "lo", "hi"]].tolist() == pytest.approx([1, 1, 1])


def test_expert_command(tmp_path: Path) -> None:
    cb = tmp_path / "cb.yaml"
    cb.write_text(
        "name: x\nversion: '1'\ncategories:\n"
        + "".join(
            f"  - id: {c}\n    kind: priority\n    label: {c.title()}\n    definition: d\n"
            f"    patterns: {{en: ['{c}*']}}\n"
            for c in ("trade", "army", "border")
        ),
        encoding="utf-8",
    )
    proj = Project.init(
        tmp_path / "p", codebook=cb, settings=Settings(measure=MeasureSettings(bootstrap=100))
    )
    (tmp_path / "p" / "expert.yaml").write_text(
        "name: panel\nratings: {trade: 9, army: 7, border: 5}\n", encoding="utf-8"
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        write_doc(
            docs,
            f"d{i}.md",
            f"202{i}-01-01",
            "declaration",
            "OTS",
            "en",
            ["Trade grew. Trade rules. Army drills. Army parades.", "Border posts. Trade fairs."],
        )
    proj.ingest([docs])
    proj.code()
    res = CliRunner().invoke(
        app,
        [
            "expert",
            "-p",
            str(proj.root),
            "--file",
            str(tmp_path / "p" / "expert.yaml"),
            "--csv",
            str(tmp_path / "e.csv"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "spearman: 1.00 [1.00, 1.00]" in res.output
    assert set(pd.read_csv(tmp_path / "e.csv")["category"]) == {"trade", "army", "border"}


def test_the_replicate_correlations_equal_scipys_one_by_one() -> None:
    from secprio.measure.expert import kendall_rows, spearman_rows

    rng = np.random.default_rng(3)
    expert = np.array([9.0, 7.0, 7.0, 5.0, 3.0, 3.0, 1.0])  # tied ratings, as experts give
    reps = rng.integers(1, 5, size=(300, 7)).astype(float)  # many ties in the scores too
    reps[0] = 2.0  # a constant replicate: no correlation at all
    for fast, slow in ((spearman_rows, spearmanr), (kendall_rows, kendalltau)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns of the constant replicate
            want = np.array([slow(expert, r)[0] for r in reps])
        got = fast(expert, reps)
        assert np.isnan(got[0]) and np.isnan(want[0])
        assert np.allclose(got[1:], want[1:], atol=1e-12)
