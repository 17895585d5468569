"""The document-level analyses read per-document counts (secprio.measure.counts): from the store
by aggregation they are the counts of the sentence and coding frames, and the analyses give
the same frames as on the frames, and the numbers of the per-sentence definitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from secprio import packs
from secprio.analyses.registry import REGISTRY, Data
from secprio.config import MeasureSettings, Settings
from secprio.measure import linkcounts, links
from secprio.measure.counts import from_sentences
from secprio.measure.scores import ALL, coded_matrix
from secprio.project import Project
from secprio.store import aggregate
from tests.test_aggregate import rich  # noqa: F401 - the coded project these tests read

COLUMNS = ["document_id", "n_sentences", "weight", "period", "year", "date", "doc_type",
           "issuer", "members", "language"]  # fmt: skip


def _frames(p: Project) -> Data:
    return Data(p, sentences=p.sentences(text=True), codings=p.codings(evidence=False))


def test_the_stored_counts_are_the_counts_of_the_frames(rich: Project) -> None:  # noqa: F811
    stored = Data(rich).counts
    framed = from_sentences(rich.sentences(), rich.codings(), rich.codebook.ids())
    assert stored.categories == framed.categories == tuple(rich.codebook.ids())
    pd.testing.assert_frame_equal(
        stored.documents[COLUMNS], framed.documents[COLUMNS], check_dtype=False
    )
    assert np.array_equal(stored.coded, framed.coded)
    assert stored.coded.sum() > 0 and (stored.n_sentences > 1).any()


CASES: list[tuple[str, dict[str, Any]]] = [
    ("window", {"event": "2020-06-01", "before": "2y", "after": "3y"}),
    ("window", {"event": "2021-01-01", "before": "6m", "after": "6m"}),
    ("trends", {}),
    ("projection", {"min_years": 2, "min_sentences": 1}),
    ("robustness", {}),
    ("robustness", {"variants": True}),
    *[("grid", {"by": by, "kind": kind, "attribution": att})
      for by in ("members", "year", "doc_type", "period", "language")
      for kind in ("priority", "threat") for att in ("issuer", "fractional", "every")
      if by == "members" or att == "issuer"],
]  # fmt: skip


@pytest.mark.parametrize("name,options", CASES)
def test_an_analysis_on_stored_counts_equals_it_on_the_frames(
    rich: Project,  # noqa: F811
    name: str,
    options: dict[str, Any],
) -> None:
    entry = REGISTRY.get_or_fail(name)
    stored = entry.run(Data(rich), options)
    framed = entry.run(_frames(rich), options)
    assert len(stored) > 0
    pd.testing.assert_frame_equal(stored, framed, check_exact=True)
    assert stored.attrs == framed.attrs


def _sentences(p: Project) -> tuple[pd.DataFrame, np.ndarray]:
    sents = p.sentences()
    return sents, coded_matrix(sents, p.codings(), p.codebook.ids())


def test_yearly_salience_is_the_weighted_share_of_the_years_sentences(
    rich: Project,  # noqa: F811
) -> None:
    sents, coded = _sentences(rich)
    yearly = REGISTRY.get_or_fail("trends").run(Data(rich), {})
    cats = rich.codebook.ids()
    for r in yearly.itertuples(index=False):
        mine = (sents["year"] == r.year).to_numpy()
        w = sents["weight"].to_numpy()[mine]
        share = (coded[mine, cats.index(r.category)] * w).sum() / w.sum()
        assert r.salience == pytest.approx(share, rel=1e-12, abs=1e-15)
        assert r.n_sentences == mine.sum()
        assert r.n_coded == coded[mine, cats.index(r.category)].sum()
    assert yearly["salience"].gt(0).any()


@pytest.mark.parametrize("attribution", ["issuer", "fractional", "every"])
def test_grid_cells_are_the_per_sentence_counts_and_shares(
    rich: Project,  # noqa: F811
    attribution: str,
) -> None:
    sents, coded = _sentences(rich)
    cats = rich.codebook.ids()
    grid = REGISTRY.get_or_fail("grid").run(
        Data(rich), {"by": "members", "kind": "priority", "attribution": attribution}
    )
    for r in grid.itertuples(index=False):
        members = sents["members"].map(list)
        if attribution == "issuer":
            share = (sents["issuer"] == r.group).astype(float).to_numpy()
        else:
            k = members.map(len).replace(0, 1)
            times = members.map(lambda ms, g=r.group: ms.count(g))
            share = (times / k if attribution == "fractional" else times).to_numpy(dtype=float)
        col = coded[:, cats.index(r.category)]
        w = sents["weight"].to_numpy() * share
        assert r.count == pytest.approx((col * share).sum(), abs=0.006)
        assert r.n_sentences == pytest.approx(share.sum(), abs=0.006)
        assert r.pct == pytest.approx(100 * (col * w).sum() / w.sum(), rel=1e-12)
    assert grid["count"].gt(0).any()


def test_the_robustness_baseline_is_the_score_table(rich: Project) -> None:  # noqa: F811
    long = REGISTRY.get_or_fail("robustness").run(Data(rich), {"variants": True})
    base = long[(long["variant"] == "baseline") & (long["frame"] == ALL)]
    scores = rich.scores().set_index("category")["score"]
    for r in base.itertuples(index=False):
        if pd.isna(scores[r.category]):
            assert pd.isna(r.score)
        else:
            assert r.score == pytest.approx(scores[r.category], rel=1e-12)
    assert base["score"].notna().sum() >= 2


LINK_CASES: list[tuple[str, dict[str, Any]]] = [
    (name, {"unit": unit, "window": window, **extra})
    for unit, window in (("paragraph", 1), ("sentence", 1), ("sentence", 2), ("sentence", 3))
    for name, extra in (("links", {}), ("table1", {}), ("link_passages", {"top": 2}),
                        ("link_passages", {"top": 5}))
]  # fmt: skip


@pytest.mark.parametrize("name,options", LINK_CASES)
def test_links_streamed_from_the_store_equal_them_on_the_frames(
    rich: Project,  # noqa: F811
    name: str,
    options: dict[str, Any],
) -> None:
    entry = REGISTRY.get_or_fail(name)
    if name == "table1":
        options = {k: v for k, v in options.items() if k != "top"}
    stored = entry.run(Data(rich), options)
    framed = entry.run(_frames(rich), options)
    assert len(stored) > 0
    pd.testing.assert_frame_equal(stored, framed, check_exact=True)
    assert stored.attrs == framed.attrs
    if name == "links":
        assert stored["a"].gt(0).any() and stored["d"].ge(0).all()
    if name == "link_passages":
        assert stored["unit_text"].str.len().gt(0).all()


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_link_counts_do_not_depend_on_where_batches_end(
    rich: Project,  # noqa: F811
    batch: int,
) -> None:
    cb = rich.codebook
    stream = aggregate.effective_batches(
        rich.store, rich.coder(), cb.sha256, columns=("segment_id", "category", "value"),
        segment=("paragraph", "idx"), batch=batch,
    )  # fmt: skip
    n_units = aggregate.unit_count(rich.store)
    got = linkcounts.link_table(stream, n_units, cb)
    expected = links.link_table(rich.sentences(), rich.codings(), cb)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert n_units == rich.sentences()[["document_id", "paragraph"]].drop_duplicates().shape[0]


@pytest.fixture(scope="module")
def ots(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The OTS pack's corpus coded by the dictionary, with the pack's claims."""
    root = tmp_path_factory.mktemp("ots") / "project"
    settings = Settings(name="ots", measure=MeasureSettings(bootstrap=50, coder="dictionary"))
    project = Project.init(root, pack="ots", settings=settings)
    project.ingest([packs.path("ots") / "corpus"])
    project.code()
    return project


@pytest.mark.parametrize("semantic", [False, True], ids=["lexical", "lexical+semantic"])
def test_the_claim_check_streamed_from_the_store_equals_it_on_the_frames(
    ots: Project, semantic: bool
) -> None:
    for name in ("claims", "claim_passages"):
        entry = REGISTRY.get_or_fail(name)
        stored = entry.run(Data(ots), {"semantic": semantic})
        framed = entry.run(_frames(ots), {"semantic": semantic})
        assert len(stored) > 10
        # the cosines are sums in another order (a vocabulary sorted before, not after,
        # the counts): equal to the last bits, and so every rank, verdict and passage
        pd.testing.assert_frame_equal(stored, framed, check_exact=False, rtol=1e-12)
        for col in stored.columns:
            if stored[col].dtype == object:
                assert stored[col].equals(framed[col]), col
    assert not list((ots.root / ".secprio").glob("claims-*"))  # the scratch files are gone


def test_the_human_codings_are_those_the_effective_codings_keep(rich: Project) -> None:  # noqa: F811
    whole = rich.codings(evidence=False)
    expected = whole[whole["source"] == "human"]
    got = rich.human_codings()
    assert got["run_id"].isna().all() and expected["run_id"].isna().all()
    expected, got = expected.drop(columns="run_id"), got.drop(columns="run_id")
    key = ["segment_id", "category"]
    pd.testing.assert_frame_equal(
        got[expected.columns].sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
    )
    assert set(got["value"]) == {0, 1}
    ids = got["segment_id"].tolist()
    sub = rich.sentences(text=True, segments=ids)
    full = rich.sentences(text=True)
    pd.testing.assert_frame_equal(
        sub.reset_index(drop=True),
        full[full["segment_id"].isin(ids)].reset_index(drop=True),
    )
