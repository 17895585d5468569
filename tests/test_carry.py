"""Human decisions survive an edited document: carried where the sentence is unchanged, listed
for review where it is not, never dropped silently. And a person's name is not a coder's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from typer.testing import CliRunner

from secprio.cli import app
from secprio.coders.base import Coding
from secprio.exchange import gold
from secprio.project import Project
from secprio.store import schema as t
from secprio.store.engine import connect

PARAS = [
    "The states agreed on military cooperation. They will hold joint exercises.",
    "Terrorism remains a threat. The fight against terrorism continues.",
    "Trade grew fast. Culture week opened in Baku.",
]


def write(folder: Path, paragraphs: list[str]) -> Path:
    path = folder / "doc.txt"
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def code_by_text(project: Project, rows: list[tuple[str, str, str, int]]) -> None:
    sents = project.sentences(text=True)
    seg = dict(zip(sents["text"], sents["segment_id"], strict=True))
    project.store.add_human(
        Coding(int(seg[text]), cat, coder, "review", value=value)
        for text, cat, coder, value in rows
    )


def human_by_text(project: Project) -> set[tuple[str, str, str, int]]:
    sents = project.sentences(text=True).set_index("segment_id")["text"]
    human = project.codings(human=True).query("source == 'human'")
    return {
        (sents[s], c, k, int(v))
        for s, c, k, v in human[["segment_id", "category", "coder", "value"]].itertuples(
            index=False
        )
        if s in sents.index
    }


DECISIONS = [
    ("The states agreed on military cooperation.", "military_cooperation", "Ana", 1),
    ("They will hold joint exercises.", "military_cooperation", "Ana", 1),
    ("Terrorism remains a threat.", "terrorism_transnational", "Bek", 1),
    ("The fight against terrorism continues.", "counter_terrorism", "Ana", 1),
    ("Trade grew fast.", "military_cooperation", "Bek", 0),  # a rejection is a decision too
    ("Culture week opened in Baku.", "counter_terrorism", "Ana", 0),
]


def test_edited_document_keeps_decisions_on_unchanged_sentences(
    project: Project, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    path = write(folder, PARAS)
    project.ingest([path])
    code_by_text(project, DECISIONS)
    # edit: a paragraph inserted on top (every offset shifts), one sentence reworded
    edited = ["A new opening paragraph was added.", *PARAS]
    edited[2] = "Terrorism remains a grave threat. The fight against terrorism continues."
    write(folder, edited)
    result = project.ingest([path])
    assert result.versions == [str(path)]
    assert result.carried.carried == 5
    assert [(r["sentence"], r["coder"]) for r in result.carried.review] == [
        ("Terrorism remains a threat.", "Bek")
    ]
    expected = set(DECISIONS) - {DECISIONS[2]}
    assert human_by_text(project) == expected
    listed = project.uncarried()
    assert list(listed["sentence"]) == ["Terrorism remains a threat."]
    assert list(listed[["category", "coder", "version"]].itertuples(index=False, name=None)) == [
        ("terrorism_transnational", "Bek", 1)
    ]
    # 6 decisions before: 5 carried + 1 listed = 0 lost silently
    assert result.carried.carried + len(listed) == len(DECISIONS)


def test_offsets_unchanged_and_a_second_edit_carry_again(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    path = write(folder, PARAS)
    project.ingest([path])
    code_by_text(project, DECISIONS[:2])
    write(folder, [*PARAS, "An appended paragraph."])  # same offsets for every old sentence
    assert project.ingest([path]).carried.carried == 2
    write(folder, ["Top.", *PARAS])
    assert project.ingest([path]).carried.carried == 2
    assert human_by_text(project) == set(DECISIONS[:2])
    assert project.uncarried().empty  # every earlier copy has a successor


def test_repeated_sentences_map_occurrence_by_occurrence(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    same = "Security was discussed."
    path = write(folder, [f"{same} First.", f"{same} Second."])
    project.ingest([path])
    sents = project.sentences(text=True)
    second = int(sents[sents["text"] == same]["segment_id"].iloc[1])
    project.store.add_human([Coding(second, "military_cooperation", "Ana", "review")])
    write(folder, ["Intro.", f"{same} First.", f"{same} Second."])
    project.ingest([path])
    now = project.sentences(text=True)
    human = project.codings(human=True).query("source == 'human'")
    coded = now[now["segment_id"].isin(human["segment_id"])]
    assert list(coded["text"]) == [same] and int(coded["idx"].iat[0]) == int(
        now[now["text"] == same]["idx"].iloc[1]
    )


def test_cli_ingest_says_what_was_carried_and_listed(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    path = write(folder, PARAS)
    project.ingest([path])
    code_by_text(project, DECISIONS[2:4])
    write(folder, ["Terrorism is a threat.", *PARAS[1:2][0:0], PARAS[0], PARAS[2]])
    res = CliRunner().invoke(app, ["ingest", str(path), "-p", str(project.root)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "0 human coding(s) carried" in out and "2 listed for review" in out
    assert "Terrorism remains a threat." in out


# -- namespaces ------------------------------------------------------------------------------
def test_a_gold_coder_named_like_a_machine_coder_does_not_collide(
    coded: Project, tmp_path: Path
) -> None:
    sents = coded.sentences(text=True)
    path = tmp_path / "gold.csv"
    pd.DataFrame(
        {"text": sents["text"][:3], "category": "military_cooperation", "coder": "dictionary"}
    ).to_csv(path, index=False)
    n, missing = gold.to_store(coded, gold.read(path, categories=coded.codebook.ids()))
    assert n > 0 and missing == []
    machine_before = coded.codings(human=False)
    assert (machine_before["source"] == "machine").all()
    # a later run of the machine coder replaces its own codings, not the person's
    coded.store.save_batch(
        coded.store.start_run("code", key="again"),
        coder="dictionary",
        doc_ids=[int(d) for d in coded.documents()["document_id"]],
        codings=[
            Coding(int(s), "military_cooperation", "dictionary", "x") for s in sents["segment_id"]
        ],
    )
    human = coded.codings(human=True).query("source == 'human'")
    assert set(human["coder"]) == {"dictionary"} and len(human) == n
    res = CliRunner().invoke(app, ["code", "-p", str(coded.root)])
    assert res.exit_code == 0, res.output


def test_migration_gives_old_stores_the_new_key(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from secprio.store.engine import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(
            t.documents.insert().values(
                id=1, path="a", sha256="x", version=1, active=True, title="", doc_type="news",
                issuer="", members="", language="en", url="", extra={}, text="Hi.",
                ingested_at=dt.datetime(2026, 1, 1),
            )
        )  # fmt: skip
        conn.execute(
            t.segments.insert().values(
                id=1, document_id=1, kind="sentence", idx=0, start=0, end=3, paragraph=0
            )
        )
    engine.dispose()
    migrated = connect(url)
    row = {"segment_id": 1, "category": "c", "coder": "dictionary", "coder_version": "",
           "confidence": 1.0, "pattern": "", "start": -1, "end": -1, "value": 1,
           "evidence": {}, "created_at": dt.datetime(2026, 1, 1)}  # fmt: skip
    with migrated.begin() as conn:
        conn.execute(t.codings.insert(), [{**row, "source": "machine"}, {**row, "source": "human"}])
        assert conn.execute(sa.select(sa.func.count()).select_from(t.codings)).scalar() == 2
