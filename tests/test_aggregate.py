"""Bounded reads (secprio.store.aggregate) give what the whole sentence and coding frames give:
the same scores and intervals bit for bit, the same effective codings, the same evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from secprio.coders.base import Coding
from secprio.config import MeasureSettings, Settings
from secprio.measure.scores import repeated_sum
from secprio.project import Project
from secprio.report import evidence
from secprio.report.safe import http_url
from secprio.report.sections import Context
from secprio.store import aggregate
from tests.conftest import CODEBOOK, DOCS, write_doc

# weights that are not sums of powers of two: n * w and n additions of w differ in the last bit
WEIGHTS = {"declaration": 0.7, "news": 0.1, "statement": 0.3, "speech": 1.3}
MORE = [
    ("d.md", "2019-11-20", "news", "AZ", "en",
     ["Military cooperation and joint exercises were planned.",
      "Terrorism and extremism were named. The fight against terrorism goes on."]),
    ("e.md", "", "speech", "OTS", "en",
     ["Joint exercises will follow. Military cooperation deepens.", "Trade grew."]),
    ("f.md", "2021-07-07", "statement", "KZ", "ru",
     ["Терроризм угрожает. Стороны договорились о борьбе с терроризмом."]),
]  # fmt: skip


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A coded project with unround weights, an undated document and human decisions that
    reject one machine coding and add another (one per module: the tests only read it)."""
    tmp_path = tmp_path_factory.mktemp("rich")
    codebook_file = tmp_path / "mini.yaml"
    codebook_file.write_text(CODEBOOK, encoding="utf-8")
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, (date, doc_type, issuer, lang, paras) in DOCS.items():
        write_doc(folder, name, date, doc_type, issuer, lang, paras)
    for name, date, doc_type, issuer, lang, paras in MORE:
        write_doc(folder, name, date, doc_type, issuer, lang, paras)
    settings = Settings(name="rich", measure=MeasureSettings(bootstrap=300, seed=11,
                                                             weights=dict(WEIGHTS)))  # fmt: skip
    project = Project.init(tmp_path / "proj", codebook=codebook_file, settings=settings)
    project.ingest([folder])
    project.code()
    sents = project.sentences(text=True)
    cod = project.codings()
    target = cod[cod["category"] == "military_cooperation"].iloc[0]
    trade = sents[sents["text"].str.startswith("Trade grew")]["segment_id"].iat[0]
    project.store.add_human(
        [
            Coding(int(target["segment_id"]), "military_cooperation", "human:ana", "", value=0),
            Coding(int(trade), "counter_terrorism", "human:ana", ""),
        ]
    )
    return project


def test_repeated_sum_is_the_per_sentence_sum_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    values = rng.choice([0.1, 0.3, 0.7, 1.0 / 3, 0.0], size=200)
    times = rng.integers(0, 400, size=200)
    index = np.repeat(np.arange(200), times)
    expected = np.bincount(index, weights=values[index], minlength=200)
    got = repeated_sum(values, times)
    assert got.dtype == np.float64 and np.array_equal(got, expected)
    assert not np.array_equal(values * times, expected)  # so the plain product would not do


def _both(p: Project, **kw: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    new = p.scores(**kw)  # type: ignore[arg-type]
    old = p.scores(sentences=p.sentences(), codings=p.codings(), **kw)  # type: ignore[arg-type]
    return new, old


@pytest.mark.parametrize(
    "by,attribution",
    [(None, "issuer"), ("period", "issuer"), ("year", "issuer"), ("doc_type", "issuer"),
     ("issuer", "issuer"), ("language", "issuer"), ("members", "issuer"),
     ("members", "fractional"), ("members", "every")],
)  # fmt: skip
def test_scores_from_document_counts_equal_the_sentence_computation(
    rich: Project, by: str | None, attribution: str
) -> None:
    new, old = _both(rich, by=by, attribution=attribution)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert new.attrs == old.attrs
    assert (new["n_coded"] > 0).any() and new["salience_hi"].gt(0).any()  # real numbers


def test_the_human_decisions_count_in_the_document_counts(rich: Project) -> None:
    counts = aggregate.coded_counts(
        rich.store, rich.coder(), rich.codebook.sha256, rich.codebook.ids()
    ).set_index(["document_id", "category"])["n_coded"]
    cod = rich.codings()
    sents = rich.sentences()
    hits = cod[(cod["value"] == 1)].merge(sents[["segment_id", "document_id"]], on="segment_id")
    expected = hits.groupby(["document_id", "category"]).size()
    pd.testing.assert_series_equal(counts, expected, check_names=False, check_index_type=False)
    human = cod[cod["source"] == "human"]
    assert set(human["value"]) == {0, 1}


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_batches_end_between_segments_and_give_the_effective_codings(
    rich: Project, batch: int
) -> None:
    cols = ("segment_id", "category", "value", "confidence", "start", "end")
    parts = list(aggregate.effective_batches(rich.store, rich.coder(), rich.codebook.sha256,
                                         columns=cols, batch=batch))  # fmt: skip
    got = pd.concat(parts, ignore_index=True)
    assert got[["segment_id", "category"]].duplicated().sum() == 0  # no cell split in two
    whole = rich.codings()
    whole = whole[whole["segment_id"].isin(rich.sentences()["segment_id"])]
    key = ["segment_id", "category"]
    pd.testing.assert_frame_equal(
        got[list(cols)].sort_values(key).reset_index(drop=True),
        whole[list(cols)].sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    if batch == 1:
        assert len(parts) > 1


def _old_records(ctx: Context) -> list[dict[str, object]]:
    """secprio.report.evidence.records as it was (whole frames), for comparison."""
    cod = ctx.codings[ctx.codings["value"] == 1]
    cod = (
        cod.sort_values("confidence", ascending=False)
        .groupby("category")
        .head(evidence.PER_CATEGORY)
    )
    sents = ctx.sentences.set_index("segment_id")
    keep = sents.loc[sents.index.intersection(cod["segment_id"].unique())]
    spans: dict[int, list[list[object]]] = {}
    cats: dict[int, list[str]] = {}
    for r in cod.itertuples(index=False):
        cats.setdefault(r.segment_id, []).append(r.category)
        if r.start >= 0:
            spans.setdefault(r.segment_id, []).append([r.start, r.end, r.category])
    out = []
    for seg_id, s in keep.iterrows():
        out.append(
            {
                "id": int(seg_id), "text": s["text"], "doc": s["title"], "date": s["date"] or "",
                "url": http_url(s["url"]), "doc_type": s["doc_type"], "issuer": s["issuer"],
                "period": s["period"],
                "year": "" if pd.isna(s["year"]) else str(int(s["year"])),
                "members": list(s["members"]), "language": s["language"],
                "cats": sorted(set(cats.get(int(seg_id), []))),
                "spans": sorted(spans.get(int(seg_id), []), key=lambda x: int(x[0])),  # type: ignore[call-overload]
            }
        )  # fmt: skip
    return out


def test_report_evidence_equals_the_whole_frame_computation(rich: Project) -> None:
    ctx = Context(rich)
    new = evidence.records(ctx)
    old = _old_records(ctx)
    assert [{**r, "spans": None} for r in new] == [{**r, "spans": None} for r in old]
    assert any(r["language"] == "ru" for r in new) and any(r["year"] == "" for r in new)


def test_report_highlights_are_the_spans_the_coder_stored(rich: Project) -> None:
    """Every word the coder found for a shown category, read from the codings' evidence
    (not matched again): a coding's one span is among them."""
    ctx = Context(rich)
    shown = evidence.records(ctx)
    cod = rich.codings(evidence=True)
    cod = cod[cod["value"] == 1]
    stored = {
        (int(r.segment_id), str(r.category)): r.evidence.get("spans") or [[r.start, r.end]]
        for r in cod.itertuples(index=False)
        if r.source == "machine"
    }
    several = 0
    for rec in shown:
        spans: Any = rec["spans"]
        cats: Any = rec["cats"]
        want = sorted(
            [a, b, c]
            for c in cats
            for a, b in stored.get((int(rec["id"]), c), [])  # type: ignore[call-overload]
        )
        if all((int(rec["id"]), c) in stored for c in cats):  # type: ignore[call-overload]
            assert sorted(spans) == want, rec["id"]
        text: Any = rec["text"]
        assert all(0 <= a < b <= len(text) for a, b, _ in spans)
        several += len(spans) > len(cats)
    assert several, "no shown sentence had more than one highlighted word per category"


def test_report_evidence_keeps_the_most_confident_then_the_earliest_per_category(
    rich: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Context(rich)
    shown = evidence.records(ctx)
    monkeypatch.setattr(evidence, "PER_CATEGORY", 1)
    capped = evidence.records(ctx)
    cod = ctx.codings
    cod = cod[(cod["value"] == 1) & cod["segment_id"].isin(ctx.sentences["segment_id"])]
    first = (
        cod.assign(neg=-cod["confidence"])
        .sort_values(["neg", "segment_id"])
        .groupby("category")
        .head(1)
    )
    assert sorted(int(r["id"]) for r in capped) == sorted(set(first["segment_id"].astype(int)))  # type: ignore[call-overload]
    assert len(capped) < len(shown)
    by_id: dict[object, dict[str, Any]] = {r["id"]: r for r in shown}
    for r in capped:  # a capped record is the full one, less the categories not kept for it
        full = by_id[r["id"]]
        cats: Any = r["cats"]
        assert r["text"] == full["text"] and set(cats) <= set(full["cats"])


def test_report_evidence_leaves_out_uncoded_sentences(rich: Project, tmp_path: Path) -> None:
    from secprio.report import build

    report = build.write(rich, tmp_path / "report")
    html = report.html.read_text(encoding="utf-8")
    texts = rich.sentences(text=True)["text"]
    shown = {str(r["text"]) for r in evidence.records(Context(rich))}
    assert shown and all(t in html for t in shown)
    assert "Culture week opened in Baku." not in html
    assert set(texts) - shown  # some sentences are not evidence of anything
