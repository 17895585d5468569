"""The review workspace over real HTTP on 127.0.0.1, solo mode: reading and keyboard coding's
server side (decisions, undo, conflicts), queues and live agreement."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from secprio.project import Project
from tests.web_helpers import client, served


@pytest.fixture
def solo(coded: Project):
    with served(coded, team=False, local_user="ana") as url:
        b = client(url)
        b.page("/")
        yield coded, b


def _segment(project: Project, text: str) -> int:
    sents = project.sentences(text=True)
    return int(sents.loc[sents["text"].str.contains(text), "segment_id"].iat[0])


def test_corpus_lists_filters_and_searches_documents(solo) -> None:
    _, b = solo
    page = b.page("/").text
    assert all(f"Document {n}" in page for n in ("a.md", "b.md", "c.md"))
    only_news = b.page("/?doc_type=news").text
    assert "Document b.md" in only_news and "Document a.md" not in only_news
    found = b.page("/?q=culture+week").text
    assert "Document b.md" in found and "Document c.md" not in found
    assert "Document c.md" in b.page("/?language=ru").text


def test_document_shows_sentences_with_codings_and_evidence(solo) -> None:
    project, b = solo
    doc_id = int(
        project.documents().set_index("path").filter(like="a.md", axis=0)["document_id"].iat[0]
    )
    page = b.page(f"/doc/{doc_id}").text
    assert page.count('class="card') == 4  # every sentence of the document
    assert "<mark class=" in page  # the matched evidence is highlighted
    assert "military cooperation" in html.unescape(page)  # the pattern is shown as evidence
    assert "dictionary" in page and "Military cooperation" in page  # coder and legend


def test_a_decision_is_stored_as_a_human_coding_with_name_time_and_memo(solo) -> None:
    project, b = solo
    seg = _segment(project, "Culture week")
    res = b.post_json("/api/decide", {"segment": seg, "labels": ["military_cooperation"],
                                      "version": 0, "memo": "a stretch"})  # fmt: skip
    assert res.status_code == 200, res.text
    assert res.json()["version"] == 1
    cod = project.codings()
    mine = cod[(cod["segment_id"] == seg) & (cod["source"] == "human")]
    assert set(mine["coder"]) == {"ana"}
    assert dict(zip(mine["category"], mine["value"], strict=True)) == {
        "military_cooperation": 1, "counter_terrorism": 0, "terrorism_transnational": 0,
    }  # fmt: skip
    assert mine["evidence"].iat[0]["memo"] == "a stretch"
    assert pd.notna(mine["created_at"]).all()
    # the human decision wins over the machine in the scores' input
    assert 1 in set(
        cod.loc[(cod["segment_id"] == seg) & (cod["category"] == "military_cooperation"), "value"]
    )
    # the reader shows who decided, and the memo
    page = b.page(
        f"/doc/{int(project.sentences().set_index('segment_id').at[seg, 'document_id'])}"
    ).text
    assert "<b>ana</b>" in page and "a stretch" in page


def test_reject_overrides_the_machine_and_undo_restores_it(solo) -> None:
    project, b = solo
    seg = _segment(project, "Terrorism remains a threat")
    before = project.scores()
    assert (
        b.post_json("/api/decide", {"segment": seg, "labels": [], "version": 0}).status_code == 200
    )
    cod = project.codings()
    assert not ((cod["segment_id"] == seg) & (cod["value"] == 1)).any()
    assert not project.scores().equals(before)
    res = b.post_json("/api/undo", {"segment": seg, "version": 1})
    assert res.status_code == 200 and res.json() == {"segment": seg, "version": 2, "labels": []}
    cod = project.codings()
    assert ((cod["segment_id"] == seg) & (cod["value"] == 1)).any()  # the machine's back
    assert not (cod["source"] == "human").any()


def test_a_stale_decision_is_refused_and_reported_not_stored(solo) -> None:
    project, b = solo
    seg = _segment(project, "Trade grew fast")
    first = b.post_json(
        "/api/decide", {"segment": seg, "labels": ["counter_terrorism"], "version": 0}
    )
    assert first.status_code == 200
    stale = b.post_json("/api/decide", {"segment": seg, "labels": [], "version": 0})
    assert stale.status_code == 409 and stale.json()["current"] == 1
    cod = project.codings()
    kept = cod[(cod["segment_id"] == seg) & (cod["category"] == "counter_terrorism")]
    assert list(kept["value"]) == [1]
    assert (
        b.post_json("/api/decide", {"segment": seg, "labels": [], "version": 1}).status_code == 200
    )


@pytest.mark.parametrize(
    "body, status",
    [
        ({"segment": "x", "labels": [], "version": 0}, 400),
        ({"segment": 999999, "labels": [], "version": 0}, 404),
        ({"segment": "SEG", "labels": ["no_such_category"], "version": 0}, 400),
        ({"segment": "SEG", "labels": [], "version": -1}, 400),
        ({"segment": "SEG", "labels": "military_cooperation", "version": 0}, 400),
        ({"segment": "SEG", "labels": [], "version": 0, "memo": "m" * 5000}, 400),
    ],
)
def test_bad_decisions_are_refused_with_a_reason(solo, body, status) -> None:
    project, b = solo
    if body["segment"] == "SEG":
        body = {**body, "segment": _segment(project, "Trade grew fast")}
    res = b.post_json("/api/decide", body)
    assert res.status_code == status and res.json()["error"]
    assert not (project.codings()["source"] == "human").any()


def test_heatmap_cell_leads_to_its_sentences(solo) -> None:
    _, b = solo
    grid = b.page("/grid?by=issuer").text
    link = re.search(
        r'href="(/cell\?by=issuer&amp;value=OTS&amp;category=military_cooperation)"', grid
    )
    assert link, grid
    cell = b.page(html.unescape(link.group(1))).text
    assert "The states agreed on" in cell and "Trade grew" not in cell


def test_codebook_page_shows_definitions(solo) -> None:
    _, b = solo
    page = b.page("/codebook").text
    assert "Joint defence activity among the states." in page and "joint exercise*" in page


def test_queues_offer_undecided_sentences_and_metrics_follow_decisions(solo) -> None:
    project, b = solo
    sample = b.page("/queue/validation").text
    segs = [int(s) for s in re.findall(r'data-seg="(\d+)"', sample)]
    assert len(segs) == len(project.sentences())  # the corpus is smaller than a queue
    for seg in segs[:3]:
        assert b.post_json("/api/decide", {"segment": seg, "labels": [], "version": 0,
                                           "queue": "validation"}).status_code == 200  # fmt: skip
    again = [int(s) for s in re.findall(r'data-seg="(\d+)"', b.page("/queue/validation").text)]
    assert set(again) == set(segs[3:])
    assert "lowest confidence" in b.page("/queue/uncertain").text
    metrics = b.page("/metrics").text
    assert "validation sample" in metrics and "dictionary" in metrics


def test_the_trainer_ranks_the_teach_queue_in_a_child_process(coded: Project) -> None:
    from secprio.web.workspace import Workspace

    ws = Workspace(coded, team=True, retrain_every=2)
    ws.trainer.min_gap = 0.0
    cats = coded.codebook.ids()
    ids = [int(s) for s in coded.sentences()["segment_id"]]
    for k, seg in enumerate(ids[:4]):  # some labels to train on; the rest is left to rank
        coded.store.decide(seg, "ana", {c: int(j == k % 3) for j, c in enumerate(cats)}, expected=0)
    ws.trainer.poke()
    ws.trainer.wait(120)
    assert ws.trainer.error == "" and ws.trainer.rounds == 1
    ranking = ws.trainer.ranking
    assert ranking is not None
    ranked = {int(i[4:]) for i in ranking["id"]}
    assert ranked and ranked <= set(ids[4:])  # reviewed sentences are not offered again
    ws.trainer._next_at = 0.0  # (the pause after a round is as long as the round took)
    ws.trainer.poke(new=1)  # one decision: not due yet
    assert not ws.trainer.busy and ws.trainer.rounds == 1
    ws.trainer.poke(new=1)
    ws.trainer.wait(120)
    assert ws.trainer.rounds == 2
    ws.trainer.min_gap = 3600.0  # due by count, but too soon after the last round
    ws.trainer._next_at = 0.0
    ws.trainer.poke(new=2)
    ws.trainer.wait(120)
    assert ws.trainer.rounds == 3
    ws.trainer.poke(new=2)
    assert not ws.trainer.busy and ws.trainer.rounds == 3
