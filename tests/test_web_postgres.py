"""The same store, migrations and workspace on a real PostgreSQL server (a team's set-up)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd
import pytest

from secprio.config import MeasureSettings, Settings
from secprio.errors import StoreError
from secprio.project import Project
from secprio.store.store import Store
from tests.web_helpers import add_user, fresh_postgres, login, served


@pytest.fixture
def pg_project(tmp_path: Path, codebook_file: Path, corpus: Path):
    with fresh_postgres() as url:
        settings = Settings(name="pg", store=url, measure=MeasureSettings(bootstrap=200, seed=7))
        project = Project.init(tmp_path / "pg", codebook=codebook_file, settings=settings)
        project.ingest([corpus])
        project.code()
        yield project
        project.store.engine.dispose()


def test_postgres_gives_the_scores_sqlite_gives(pg_project: Project, coded: Project) -> None:
    assert pg_project.store.engine.dialect.name == "postgresql"
    pg = pg_project.scores().sort_values("category").reset_index(drop=True)
    lite = coded.scores().sort_values("category").reset_index(drop=True)
    pd.testing.assert_frame_equal(pg, lite)


def test_concurrent_decisions_on_one_sentence_store_exactly_one(pg_project: Project) -> None:
    store = pg_project.store
    seg = int(pg_project.sentences()["segment_id"].iat[0])
    cats = pg_project.codebook.ids()
    results: list[object] = []

    def decide(i: int) -> None:
        labels = {c: int(j == i % len(cats)) for j, c in enumerate(cats)}
        try:
            results.append(store.decide(seg, "ana", labels, expected=0, memo=f"try {i}"))
        except StoreError as exc:
            results.append(exc)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count(1) == 1 and len(results) == 12
    assert all("meanwhile" in str(r) for r in results if r != 1)
    rows = store.latest_decisions(coders=["ana"])
    assert len(rows) == 1 and rows[0]["version"] == 1
    cod = pg_project.codings()
    human = cod[(cod["segment_id"] == seg) & (cod["source"] == "human")]
    assert len(human) == len(cats) and human["value"].sum() == 1
    assert human["evidence"].iat[0]["memo"] == rows[0]["memo"]


def test_team_workflow_on_postgres(pg_project: Project) -> None:
    add_user(pg_project, "boss", "admin")
    add_user(pg_project, "cem", "coder")
    add_user(pg_project, "dana", "coder")
    with served(pg_project, team=True) as url:
        admin = login(url, "boss")
        res = admin.post_form(
            "/assignments", {"coders": ["cem", "dana"], "n": "4", "source": "random", "blind": "1"}
        )
        aid = int(res.headers["location"].rsplit("/", 1)[1])
        for name in ("cem", "dana"):
            b = login(url, name)
            for seg in [
                int(s) for s in re.findall(r'data-seg="(\d+)"', b.page(f"/assignments/{aid}").text)
            ]:
                body = {
                    "segment": seg,
                    "labels": ["counter_terrorism"],
                    "version": 0,
                    "assignment": aid,
                }
                assert b.post_json("/api/decide", body).status_code == 200
        assert admin.post_form(f"/assignments/{aid}/finish", {}).status_code == 303
    assert (pg_project.root / "gold.csv").is_file()
    cod = pg_project.codings()
    assert (cod["coder"] == "adjudicated").sum() == 4 * len(pg_project.codebook.ids())


def test_a_server_that_does_not_answer_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open store") as err:
        Store("postgresql://nobody:wrong@127.0.0.1:1/none")
    assert "wrong" not in str(err.value)  # the password is not echoed
