"""Claim check: terms, denials, the verdict rules, a small corpus, and the OTS pack's claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from secprio import api, packs
from secprio.cli import app
from secprio.config import MeasureSettings, Settings
from secprio.errors import MeasureError
from secprio.measure import claims
from secprio.project import Project
from tests.conftest import write_doc

CLAIMS = """\
- id: pact-2019
  text: Alpha and Beta signed the Harbour Pact in 2019.
  date: 2019
  query: Alpha Beta Harbour Pact signed
  expected: supported
- id: pact-2020
  text: Alpha and Beta signed the Harbour Pact in 2020.
  date: 2020
  query: Alpha Beta Harbour Pact signed
  expected: weak
- id: tunnel-2019
  text: Alpha and Beta opened the Mountain Tunnel in 2019.
  date: 2019
  query: Alpha Beta Mountain Tunnel opened
  expected: not_found
- id: treaty-2021
  text: Alpha and Gamma signed a Border Treaty in 2021.
  date: 2021
  query: Alpha Gamma Border Treaty signed
  expected: not_found
"""


def test_terms_fold_spellings_and_endings() -> None:
    assert claims.stems("Turkey signed") == claims.stems("Türkiye signs")[:1] + ["sign"]
    assert claims.stem("signed") == claims.stem("signing") == "sign"
    c = claims.Claim(
        "x", "In 2018 the organization set up an OTS Task Force.", 2018, query="task force"
    )
    assert claims.names(c) == ["ots", "task", "force"]
    assert claims.key_terms(c) == ["task", "force", "ots"]


@pytest.mark.parametrize(
    ("text", "denial"),
    [
        ("The agreement was not signed in 2021.", True),
        ("Its decisions are not binding acts of the organization.", True),
        ("Yet no summit decision made it compulsory.", True),
        ("It should not be confused with the declaration signed by both states.", False),
        ("The exercises are not an activity of the council.", False),
        ("The two states signed the agreement.", False),
    ],
)
def test_denials(text: str, denial: bool) -> None:
    assert bool(claims.DENIAL.search(text)) is denial


def test_a_denial_contradicts_only_the_year_in_its_own_clause() -> None:
    assert claims._denies_year("The agreement was not signed in 2021.", 2021)
    assert not claims._denies_year("In 2024 he welcomed it, yet no decision made it law.", 2024)
    assert not claims._denies_year("The agreement was not signed in 2021.", 2019)


def _found(**cols: list[object]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "document_id": list(range(n)),
        "match": [1.0] * n,
        "sentence_match": [1.0] * n,
        "denial": [False] * n,
        "denies_year": [False] * n,
        "date_agrees": [True] * n,
        "evidence_date": ["2019-01-01"] * n,
        "title": ["T"] * n,
        "text": ["s"] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_verdict_rules() -> None:
    assert claims.verdict(_found(match=[0.95]))[0] == "supported"
    assert claims.verdict(_found(date_agrees=[False], evidence_date=["2018-09-13"])) == (
        "weak",
        "misdated: the evidence is dated 2018: “s” (T, 2018-09-13)",
    )
    qualified = _found(denial=[False, True], document_id=[1, 1])
    assert claims.verdict(qualified)[0] == "weak"
    elsewhere = _found(denial=[False, True], document_id=[1, 2])  # a denial in another text
    assert claims.verdict(elsewhere)[0] == "supported"
    off_topic = _found(denial=[False, True], document_id=[1, 1], sentence_match=[1.0, 0.1])
    assert claims.verdict(off_topic)[0] == "supported"
    contradicted = _found(denial=[False, True], denies_year=[False, True])
    assert claims.verdict(contradicted)[0] == "not_found"
    assert claims.verdict(_found(match=[0.7]))[0] == "weak"  # partial, dated as claimed
    denied = _found(match=[0.7, 0.7], denial=[False, True], document_id=[3, 3])
    assert claims.verdict(denied)[0] == "not_found"
    assert claims.verdict(_found(match=[0.7], date_agrees=[False]))[0] == "not_found"
    assert claims.verdict(_found(match=[0.3]))[0] == "not_found"
    assert claims.verdict(_found(match=[]))[0] == "not_found"


def test_load_validates(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- id: x\n  text: t\n  expected: maybe\n", encoding="utf-8")
    with pytest.raises(MeasureError, match="expected 'maybe'"):
        claims.load(path)
    items = claims.load(packs.path("ots") / "claims.yaml")
    assert len(items) == 11 and items[0].year == 2009


@pytest.fixture
def harbour(project: Project, tmp_path: Path) -> Project:
    docs = tmp_path / "harbour"
    docs.mkdir()
    write_doc(
        docs,
        "pact.md",
        "2019-04-02",
        "agreement",
        "OTS",
        "en",
        [
            "Alpha and Beta signed the Harbour Pact in Delta on 2 April 2019.",
            "The pact opens the harbour to ships of both states.",
        ],
    )
    write_doc(
        docs,
        "talks.md",
        "2021-06-01",
        "news",
        "OTS",
        "en",
        [
            "Alpha and Gamma said they would sign a Border Treaty soon.",
            "The treaty was not signed in 2021.",
        ],
    )
    write_doc(
        docs,
        "culture.md",
        "2019-08-01",
        "news",
        "OTS",
        "en",
        [
            "A culture week opened in Beta.",
        ],
    )
    project.ingest([docs])
    project.code()
    (project.root / "claims.yaml").write_text(CLAIMS, encoding="utf-8")
    return project


def test_small_corpus_verdicts(harbour: Project) -> None:
    got = api.claims(harbour, file=harbour.root / "claims.yaml", semantic=False)
    assert dict(zip(got["claim"], got["verdict"], strict=True)) == {
        "pact-2019": "supported",
        "pact-2020": "weak",
        "tunnel-2019": "not_found",
        "treaty-2021": "not_found",
    }
    row = got.set_index("claim").loc["pact-2020"]
    assert row.date_agreement == "misdated" and row.evidence_years == "2019"
    assert got.set_index("claim").loc["treaty-2021", "reason"].startswith("contradicted")
    assert "lexical retrieval only" in got["retrieval"].iat[0]
    psg = api.claim_passages(harbour, file=harbour.root / "claims.yaml", semantic=False)
    assert (psg.groupby("claim").size() <= 3).all()


def test_claims_command(harbour: Project, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "claims",
            str(harbour.root / "claims.yaml"),
            "-p",
            str(harbour.root),
            "--lexical-only",
            "--csv",
            str(tmp_path / "c.csv"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "pact-2019" in res.output and "supported" in res.output
    assert len(pd.read_csv(tmp_path / "c.csv")) == 4


@pytest.fixture(scope="module")
def ots(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("ots") / "project"
    project = Project.init(
        root,
        pack="ots",
        settings=Settings(name="ots", measure=MeasureSettings(bootstrap=50, coder="dictionary")),
    )
    project.ingest([packs.path("ots") / "corpus"])
    project.code()
    return project


@pytest.mark.parametrize("semantic", [False, True], ids=["lexical", "lexical+semantic"])
def test_ots_claims_reproduce_the_expected_verdicts(ots: Project, semantic: bool) -> None:
    got = api.claims(ots, semantic=semantic)
    assert len(got) == 11
    confusion = claims.confusion(got)
    wrong = got[~got["agrees"].astype(bool)]
    assert wrong.empty, (
        f"expected × verdict:\n{confusion}\n"
        + wrong[["claim", "expected", "verdict", "reason"]].to_string()
    )
    unsupported = got[got["expected"] == "not_found"]
    assert (unsupported["verdict"] == "not_found").all()
    misdated = got.set_index("claim").loc["tr-kz-military-agreement-2019"]
    assert misdated.date_agreement == "misdated" and "2018" in misdated.evidence_years


def test_paragraphs_and_titles_are_stemmed_once_and_shared(harbour: Project) -> None:
    sents = harbour.sentences(text=True)
    corpus = claims.Corpus.build(sents, harbour.codings(), semantic=False)
    assert len(corpus.contexts) == sents.groupby(["document_id", "paragraph"]).ngroups
    para = sents.groupby(["document_id", "paragraph"])["text"].transform(" ".join)
    for i, (title, text) in enumerate(zip(sents["title"], para, strict=True)):
        assert corpus.context(i) == set(claims.stems(f"{title} {text}"))


def test_semantic_retrieval_reranks_only_each_claims_pool(ots: Project, tmp_path: Path) -> None:
    from secprio.coders.embed import VectorCache, model_version, text_key

    sents = ots.sentences(text=True)
    assert len(sents) > claims.POOL  # else every sentence is in every pool
    # a cache of its own: the project's holds the vectors its coder (auto) embedded
    path = tmp_path / "claims.sqlite"
    corpus = claims.Corpus.build(sents, ots.codings(), cache=path)
    items = claims.load(packs.path("ots") / "claims.yaml")
    vectors, note = claims._semantic(items, corpus)
    pools = [set(claims.pool(c, corpus).tolist()) for c in items]
    for cosine, positions in zip(vectors, pools, strict=True):
        assert cosine is not None and set(np.flatnonzero(~np.isnan(cosine))) == positions
    assert "best 500 sentences per claim" in note
    outside = set(range(len(sents))) - set().union(*pools)
    keys = {text_key(sents["text"].iat[i]) for i in outside}
    keys -= {text_key(sents["text"].iat[i]) for i in set().union(*pools)}  # same text inside
    cache = VectorCache(path, model_version("e5"))
    assert outside and not cache.get(keys)  # the corpus outside the pools is never embedded
