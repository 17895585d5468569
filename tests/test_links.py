"""Threat → response links: statistics against hand-computed tables and scipy, a link table
recounted by hand on a small corpus, and the Table 1 view on the OTS pack."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control, fisher_exact
from typer.testing import CliRunner

from secprio import api, packs
from secprio.cli import app
from secprio.config import MeasureSettings, Settings
from secprio.measure import links
from secprio.project import Project
from tests.conftest import write_doc

CODEBOOK = """\
name: floods
version: "1"
categories:
  - id: levees
    kind: priority
    label: Levees
    definition: Building and repairing levees.
    patterns: {en: ["levee*"]}
  - id: patrols
    kind: priority
    label: Patrols
    definition: Patrols at the border.
    patterns: {en: ["patrol*"]}
  - id: floods
    kind: threat
    label: Floods
    definition: Floods named as a threat.
    patterns: {en: ["flood*"]}
  - id: smuggling
    kind: threat
    label: Smuggling
    definition: Smuggling named as a threat.
    patterns: {en: ["smuggl*"]}
"""

DOCS = {
    "one.md": (
        "2020-01-10",
        "declaration",
        [
            "Floods threaten the valley. New levees are planned.",
            "Smuggling rose. Border patrols were doubled.",
            "Floods came again. Levees held and patrols helped.",
        ],
    ),
    "two.md": (
        "2021-05-02",
        "news",
        [
            "The market opened.",
            "Smuggling networks were dismantled.",
            "Levees were repaired.",
            "Floods and smuggling both declined; patrols continued.",
        ],
    ),
}
# By hand, per paragraph (7 units): floods in 3, smuggling in 3, levees in 3, patrols in 3.
HAND = {
    ("floods", "levees"): (2, 1, 1, 3),
    ("floods", "patrols"): (2, 1, 1, 3),
    ("smuggling", "levees"): (0, 3, 3, 1),
    ("smuggling", "patrols"): (2, 1, 1, 3),
}


# -- statistics ---------------------------------------------------------------------------------
def test_statistics_of_a_hand_computed_table() -> None:
    a, b, c, d = 3, 1, 2, 4  # N = 10
    assert links.lift(a, b, c, d) == pytest.approx(3 * 10 / (4 * 5))
    lor, lo, hi = links.log_odds(a, b, c, d)
    assert lor == pytest.approx(math.log((3.5 * 4.5) / (1.5 * 2.5)))
    se = math.sqrt(1 / 3.5 + 1 / 1.5 + 1 / 2.5 + 1 / 4.5)
    assert (lo, hi) == pytest.approx((lor - 1.959964 * se, lor + 1.959964 * se), rel=1e-6)


def test_contingency_matches_counting() -> None:
    rng = np.random.default_rng(3)
    t = (rng.random((60, 3)) < 0.3).astype(float)
    p = (rng.random((60, 4)) < 0.4).astype(float)
    a, b, c, d = links.contingency(t, p)
    for i in range(3):
        for j in range(4):
            both = int(((t[:, i] == 1) & (p[:, j] == 1)).sum())
            only_t = int(((t[:, i] == 1) & (p[:, j] == 0)).sum())
            only_p = int(((t[:, i] == 0) & (p[:, j] == 1)).sum())
            assert (a[i, j], b[i, j], c[i, j], d[i, j]) == (
                both,
                only_t,
                only_p,
                60 - both - only_t - only_p,
            )


def test_bh_matches_scipy() -> None:
    p = np.random.default_rng(11).random(49) ** 3
    assert links.bh(p) == pytest.approx(false_discovery_control(p, method="bh"))
    assert links.bh([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.04, 0.04])


def _toy(unit_rows: list[tuple[int, int, set[str]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    sents = pd.DataFrame(
        {
            "segment_id": range(len(unit_rows)),
            "document_id": [r[0] for r in unit_rows],
            "paragraph": [r[1] for r in unit_rows],
            "idx": range(len(unit_rows)),
            "weight": 1.0,
        }
    )
    cods = pd.DataFrame(
        [
            {"segment_id": i, "category": c, "value": 1}
            for i, r in enumerate(unit_rows)
            for c in r[2]
        ]
    )
    return sents, cods


def test_link_table_uses_fisher_greater_and_bh_over_all_pairs(codebook_file: Path) -> None:
    from secprio.codebook.load import load

    path = codebook_file.parent / "floods.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    cb = load(path)
    rows = [(1, k, {"floods", "levees"}) for k in range(6)] + [
        (1, 10 + k, {"patrols"}) for k in range(5)
    ]
    rows += [(2, k, set()) for k in range(9)] + [(2, 20, {"smuggling", "patrols"})]
    sents, cods = _toy(rows)
    table = links.link_table(sents, cods, cb).set_index(["threat", "priority"])
    r = table.loc[("floods", "levees")]
    assert (r.a, r.b, r.c, r.d) == (6, 0, 0, 15)
    assert r.p == pytest.approx(fisher_exact([[6, 0], [0, 15]], alternative="greater")[1])
    assert table["q"].to_numpy() == pytest.approx(false_discovery_control(table["p"], method="bh"))
    assert bool(r.significant)
    single = table.loc[("smuggling", "patrols")]
    assert single.a == 1 and not single.significant  # a single shared unit is never enough


# -- a small real corpus, recounted by hand ------------------------------------------------------
@pytest.fixture
def floods(tmp_path: Path) -> Project:
    cb = tmp_path / "floods.yaml"
    cb.write_text(CODEBOOK, encoding="utf-8")
    settings = Settings(name="floods", measure=MeasureSettings(bootstrap=100, seed=1))
    project = Project.init(tmp_path / "proj", codebook=cb, settings=settings)
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, (date, doc_type, paras) in DOCS.items():
        write_doc(folder, name, date, doc_type, "OTS", "en", paras)
    project.ingest([folder])
    project.code()
    return project


def test_link_table_equals_a_count_by_hand(floods: Project) -> None:
    table = api.links(floods).set_index(["threat", "priority"])
    assert int(table["n_units"].iat[0]) == 7
    for pair, cells in HAND.items():
        assert tuple(table.loc[pair, ["a", "b", "c", "d"]]) == cells
    # and the same numbers from the stored codings, counted with plain sets
    sents, cods = floods.sentences(), floods.codings()
    para = dict(
        zip(
            sents["segment_id"],
            zip(sents["document_id"], sents["paragraph"], strict=True),
            strict=True,
        )
    )
    units = set(para.values())
    where = {
        c: {para[s] for s in cods.loc[cods["category"] == c, "segment_id"]}
        for c in ("floods", "smuggling", "levees", "patrols")
    }
    for (t, p), row in table.iterrows():
        a = len(where[t] & where[p])
        assert (row.a, row.b, row.c, row.d) == (
            a,
            len(where[t]) - a,
            len(where[p]) - a,
            len(units - where[t] - where[p]),
        )


def test_sentence_windows(floods: Project) -> None:
    one = api.links(floods, unit="sentence").set_index(["threat", "priority"])
    assert one.loc[("floods", "levees"), "a"] == 0  # never in the same sentence
    assert one.loc[("floods", "patrols"), "a"] == 1
    two = api.links(floods, unit="sentence", window=2).set_index(["threat", "priority"])
    assert two.loc[("floods", "levees"), "a"] == 3
    assert int(two["n_units"].iat[0]) == 5


def test_passages_hold_both_codes_and_rank_by_strength(floods: Project) -> None:
    psg = api.link_passages(floods)
    pair = psg[(psg["threat"] == "floods") & (psg["priority"] == "levees")]
    assert len(pair) == 2 and pair["rank"].tolist() == [1, 2]
    assert pair["strength"].is_monotonic_decreasing
    assert all("lood" in t and "evee" in t for t in pair["text"])
    # the declaration (weight 1.0) outranks nothing weaker here: both are its paragraphs
    assert set(pair["title"]) == {"Document one.md"}


def test_table1_lists_every_threat(floods: Project) -> None:
    view = api.table1(floods, min_count=1, alpha=0.99)
    assert set(view["threat"]) == {"floods", "smuggling"}
    assert {"passage_1", "passage_2", "passage_3"} <= set(view.columns)


def test_links_command(floods: Project, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["links", "-p", str(floods.root), "--all", "--csv", str(tmp_path / "l.csv")],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "l.csv")) == 4
    res = CliRunner().invoke(app, ["links", "-p", str(floods.root)], catch_exceptions=False)
    assert res.exit_code == 0 and "Floods" in res.output


# -- the OTS pack --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ots(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("ots") / "project"
    settings = Settings(name="ots", measure=MeasureSettings(bootstrap=100, coder="dictionary"))
    project = Project.init(root, pack="ots", settings=settings)
    project.ingest([packs.path("ots") / "corpus"])
    project.code()
    return project


def test_ots_table1_lists_all_seven_threats_with_responses_and_passages(ots: Project) -> None:
    view = api.table1(ots)
    threats = ots.codebook.ids("threat")
    assert len(threats) == 7 and list(dict.fromkeys(view["threat"])) == threats
    for threat, part in view.groupby("threat"):
        assert (part["priority"] != "").all(), threat  # each threat lists a response
        cooccur = part[part["a"] > 0]
        assert (cooccur["passage_1"] != "").all(), threat
    sig = view[view["status"] == "significant"]
    assert not sig.empty and (sig["q"] < 0.05).all() and (sig["a"] >= 2).all()
    assert set(view["agreement"]) <= {"agree", "expert only", "evidence only", ""}
    expert_rows = view[view["expert_pair"]]
    assert len(expert_rows) >= 7  # every pair of the seed study is shown beside the evidence
