"""Team mode over real HTTP: accounts and roles, blind double coding, adjudication into gold."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from secprio.exchange.gold import read
from secprio.project import Project
from tests.web_helpers import PASSWORD, add_user, client, login, served


@pytest.fixture
def team(coded: Project):
    add_user(coded, "boss", "admin")
    with served(coded, team=True) as url:
        yield coded, url


def _assign(admin, coders: list[str], n: int = 6, blind: bool = True) -> int:
    res = admin.post_form(
        "/assignments",
        {
            "name": "pilot",
            "coders": coders,
            "n": str(n),
            "source": "random",
            "blind": "1" if blind else "",
        },
    )
    assert res.status_code == 303, res.text
    return int(res.headers["location"].rsplit("/", 1)[1])


def _segs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seg="(\d+)"', page)]


def test_admin_creates_coders_who_log_in_with_their_roles(team) -> None:
    project, url = team
    admin = login(url, "boss")
    for name, role in (("cem", "coder"), ("vera", "viewer")):
        res = admin.post_form("/admin/users", {"name": name, "password": PASSWORD, "role": role})
        assert res.status_code == 303
    assert admin.post_form("/admin/users", {"name": "x", "password": PASSWORD}).status_code == 400
    assert (
        admin.post_form("/admin/users", {"name": "dictionary", "password": PASSWORD}).status_code
        == 400
    )
    assert admin.post_form("/admin/users", {"name": "shorty", "password": "abc"}).status_code == 400
    users = {u["name"]: u["role"] for u in project.store.users()}
    assert users == {"boss": "admin", "cem": "coder", "vera": "viewer"}
    assert project.store.user("cem")["password_hash"].startswith("$argon2")
    viewer = login(url, "vera")
    seg = int(project.sentences()["segment_id"].iat[0])
    refused = viewer.post_json("/api/decide", {"segment": seg, "labels": [], "version": 0})
    assert refused.status_code == 403
    coder = login(url, "cem")
    assert (
        coder.post_json("/api/decide", {"segment": seg, "labels": [], "version": 0}).status_code
        == 200
    )
    assert coder.page("/admin/users").status_code == 403
    actions = [r["action"] for r in project.store.audit_log()]
    assert actions.count("user.add") == 3 and "decide" in actions and "login" in actions


def test_a_disabled_account_loses_its_session_and_cannot_log_in(team) -> None:
    project, url = team
    add_user(project, "cem", "coder")
    coder = login(url, "cem")
    admin = login(url, "boss")
    assert admin.post_form("/admin/users/cem", {"role": "coder", "active": "0"}).status_code == 303
    assert coder.page("/").status_code == 303  # back to the login page
    fresh = client(url)
    token = re.findall(r'name="csrf" value="([^"]*)"', fresh.get("/login").text)[0]
    res = fresh.post("/login", data={"csrf": token, "name": "cem", "password": PASSWORD})
    assert res.status_code == 401


def test_blind_double_coding_then_adjudication_makes_the_gold(team) -> None:
    project, url = team
    add_user(project, "cem", "coder")
    add_user(project, "dana", "coder")
    admin = login(url, "boss")
    aid = _assign(admin, ["cem", "dana"], n=6)
    cem, dana = login(url, "cem"), login(url, "dana")
    page = cem.page(f"/assignments/{aid}").text
    segs = _segs(page)
    assert len(segs) == 6
    assert "dictionary" not in page and "<mark" not in page  # blind: no machine codings shown
    for i, seg in enumerate(segs):
        lab = ["counter_terrorism"] if i % 2 else []
        body = {"segment": seg, "labels": lab, "version": 0, "assignment": aid}
        assert cem.post_json("/api/decide", body).status_code == 200
    # dana sees none of cem's decisions, and nothing of cem's reaches the project's codings
    dana_page = dana.page(f"/assignments/{aid}").text
    assert "cem" not in dana_page.split("<main>", 1)[1]
    assert (
        "decided"
        not in re.sub(r"<header.*?</header>", "", dana_page, flags=re.S).split('class="card', 1)[1][
            :20
        ]
    )
    assert not (project.codings()["source"] == "human").any()
    for i, seg in enumerate(segs):
        lab = ["counter_terrorism"] if i % 2 or i == 0 else []  # one disagreement: the first
        body = {"segment": seg, "labels": lab, "version": 0, "assignment": aid}
        assert dana.post_json("/api/decide", body).status_code == 200
    outsider_seg = int(project.sentences()["segment_id"].max())
    if outsider_seg not in segs:
        body = {"segment": outsider_seg, "labels": [], "version": 0, "assignment": aid}
        assert dana.post_json("/api/decide", body).status_code == 403
    adj = admin.page(f"/assignments/{aid}/adjudicate").text
    assert _segs(adj) == [segs[0]]
    assert "Krippendorff" in adj and re.search(r'class="alpha-value">-?[0-9.]+<', adj)
    # finishing before the disagreement is resolved is refused
    assert admin.post_form(f"/assignments/{aid}/finish", {}).status_code == 400
    res = admin.post_json(
        "/api/adjudicate",
        {"assignment": aid, "segment": segs[0], "labels": ["military_cooperation"], "version": 0},
    )
    assert res.status_code == 200, res.text
    done = admin.post_form(f"/assignments/{aid}/finish", {})
    assert done.status_code == 303 and "gold" in done.headers["location"]
    gold = read(project.root / "gold.csv", categories=project.codebook.ids())
    assert gold.coders[0] == "adjudicated" and set(gold.coders) == {"adjudicated", "cem", "dana"}
    final = gold.labels("adjudicated")
    assert final[f"seg:{segs[0]}"] == {"military_cooperation"}
    assert final[f"seg:{segs[1]}"] == {"counter_terrorism"}
    assert len(final) == 6
    # the adjudicated result is stored as human codings: the scores now count it
    cod = project.codings()
    adjud = cod[cod["coder"] == "adjudicated"]
    assert set(adjud["segment_id"]) == set(segs)
    assert bool(
        adjud.loc[
            (adjud["segment_id"] == segs[0]) & (adjud["category"] == "military_cooperation"),
            "value",
        ].iat[0]
    )
    assert "assignment.add" in {r["action"] for r in project.store.audit_log()}
    assert project.store.assignment(aid)["status"] == "adjudicated"


def test_finishing_merges_with_an_existing_gold_file(team) -> None:
    project, url = team
    add_user(project, "cem", "coder")
    pd.DataFrame(
        [
            {
                "id": "own-1",
                "text": "A sentence from elsewhere.",
                "lang": "en",
                "category": "counter_terrorism",
                "coder": "earlier",
            }
        ]
    ).to_csv(project.root / "gold.csv", index=False)
    admin = login(url, "boss")
    aid = _assign(admin, ["cem"], n=2)
    cem = login(url, "cem")
    for seg in _segs(cem.page(f"/assignments/{aid}").text):
        cem.post_json(
            "/api/decide", {"segment": seg, "labels": [], "version": 0, "assignment": aid}
        )
    assert admin.post_form(f"/assignments/{aid}/finish", {}).status_code == 303
    gold = read(project.root / "gold.csv")
    assert set(gold.coders) == {"adjudicated", "cem", "earlier"}
