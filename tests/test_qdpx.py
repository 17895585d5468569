"""REFI-QDA: export -> import keeps every coding; a third-party reader parses our export."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from secprio.coders.base import Coding
from secprio.config import MeasureSettings, Settings
from secprio.exchange.qdpx import (
    MACHINE_PREFIX,
    export_codebook,
    export_project,
    import_qdpx,
    read_qdpx,
)
from secprio.project import Project
from secprio.store import schema as t

pyrefiqda = pytest.importorskip("pyrefiqda")


def coding_table(project: Project) -> pd.DataFrame:
    """Every coding with value 1 as (document file, start, end, category, coder name)."""
    q = (
        sa.select(t.documents.c.path, t.segments.c.start, t.segments.c.end,
                  t.codings.c.category, t.codings.c.coder, t.codings.c.source)
        .join(t.segments, t.segments.c.id == t.codings.c.segment_id)
        .join(t.documents, t.documents.c.id == t.segments.c.document_id)
        .where(t.codings.c.value == 1)
    )  # fmt: skip
    df = project.store.frame(q)
    df["doc"] = df["path"].map(lambda p: Path(p).name)
    df["coder"] = [
        c if s == "human" else MACHINE_PREFIX + c
        for c, s in zip(df["coder"], df["source"], strict=True)
    ]
    return df[["doc", "start", "end", "category", "coder"]]


def as_set(df: pd.DataFrame) -> set[tuple[object, ...]]:
    return set(map(tuple, df.itertuples(index=False)))


@pytest.fixture
def humans(coded: Project) -> Project:
    """The coded mini project plus two human coders, one of them disagreeing."""
    sents = coded.sentences(text=True)
    trade = int(sents[sents["text"].str.contains("Trade")]["segment_id"].iat[0])
    culture = int(sents[sents["text"].str.contains("Culture")]["segment_id"].iat[0])
    coded.store.add_human([
        Coding(trade, "military_cooperation", "Ana Ortiz", "review"),
        Coding(culture, "counter_terrorism", "Ana Ortiz", "review"),
        Coding(culture, "terrorism_transnational", "Bek Nurlan", "review"),
    ])  # fmt: skip
    return coded


def test_export_then_read_keeps_every_coding(humans: Project, tmp_path: Path) -> None:
    path = export_project(humans, tmp_path / "p.qdpx")
    qda = read_qdpx(path)
    names = {g: s.name for g, s in qda.sources.items()}
    codes = {
        g: c.description.splitlines()[0].removeprefix("id: ")
        for g, c in qda.codes.items()
        if c.codable
    }
    back = {(names[c.source], c.start, c.end, codes[c.code], c.coder) for c in qda.codings}
    expected = as_set(coding_table(humans))
    assert len(expected) > 5
    assert back == expected
    with humans.store.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(t.documents.c.path, t.documents.c.text)).all())
    # positions index the exported text exactly as they index the stored one
    assert {s.name: s.text for s in qda.sources.values()} == {
        Path(p).name: text for p, text in stored.items()
    }


def test_export_import_round_trip_into_another_project(
    humans: Project, corpus: Path, codebook_file: Path, tmp_path: Path
) -> None:
    path = export_project(humans, tmp_path / "p.qdpx")
    settings = Settings(name="copy", measure=MeasureSettings(bootstrap=50))
    other = Project.init(tmp_path / "copy", codebook=codebook_file, settings=settings)
    other.ingest([corpus])
    result = import_qdpx(other, path)
    assert result.unmapped_codes == {} and result.unmatched_sources == []
    assert result.coders == ["Ana Ortiz", "Bek Nurlan"]
    mine = coding_table(humans)
    assert as_set(coding_table(other)) == as_set(mine[~mine["coder"].str.startswith("secprio")])
    assert result.machine_skipped == len(mine[mine["coder"].str.startswith("secprio")])


def test_import_into_an_empty_project_ingests_the_sources(
    humans: Project, codebook_file: Path, tmp_path: Path
) -> None:
    path = export_project(humans, tmp_path / "p.qdpx")
    empty = Project.init(tmp_path / "empty", codebook=codebook_file)
    result = import_qdpx(empty, path)
    assert len(result.ingested) == 1  # b.md, the one document with human codings
    docs = empty.documents()
    assert set(docs["title"]) <= {f"Document {n}" for n in ("a.md", "b.md", "c.md")}
    texts = empty.sentences(text=True).set_index("segment_id")["text"]
    got = {
        (texts[s], c, k)
        for s, c, k in empty.codings(human=True)[["segment_id", "category", "coder"]].itertuples(
            index=False
        )
    }
    orig = humans.sentences(text=True).set_index("segment_id")["text"]
    human = humans.codings(human=True).query("source == 'human'")
    want = {
        (orig[s], c, k)
        for s, c, k in human[["segment_id", "category", "coder"]].itertuples(index=False)
    }
    assert got == want


def test_pyrefiqda_parses_our_export_without_loss(humans: Project, tmp_path: Path) -> None:
    path = export_project(humans, tmp_path / "p.qdpx")
    parsed = pyrefiqda.RefiProject.load(path, extract_dir=str(tmp_path / "x"))
    ours = read_qdpx(path)
    sources = parsed.sources.text_source
    assert len(sources) == len(ours.sources) == len(humans.documents())

    def walk(codes: list) -> list:
        return [c for code in codes for c in [code, *walk(code.code)]]

    codes = walk(parsed.code_book.codes.code)
    assert len(codes) == len(ours.codes) == len(humans.codebook.categories) + 2
    positions = {
        (s.guid, sel.start_position, sel.end_position, coding.code_ref.target_guid)
        for s in sources for sel in s.plain_text_selection for coding in sel.coding
    }  # fmt: skip
    assert positions == {(c.source, c.start, c.end, c.code) for c in ours.codings}
    assert sum(len(sel.coding) for s in sources for sel in s.plain_text_selection) == len(
        ours.codings
    )
    users = {u.guid: u.name for u in parsed.users.user}
    assert {"Ana Ortiz", "Bek Nurlan", "secprio:dictionary"} <= set(users.values())
    for s in sources:
        text = pyrefiqda.RefiProject.resolve_source_path(s.plain_text_path, tmp_path / "x")
        assert text.read_text(encoding="utf-8") == ours.sources[s.guid].text


def test_codebook_qdc_parses(humans: Project, tmp_path: Path) -> None:
    path = export_codebook(humans.codebook, tmp_path / "codebook.qdc")
    book = pyrefiqda.RefiCodebook.load(path)
    names = {c.name for group in book.codes.code for c in group.code}
    assert names == {c.label for c in humans.codebook.categories}


OTHER_TOOL = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="from MAXQDA" origin="MAXQDA 2022">
  <Users><User guid="11111111-1111-1111-1111-111111111111" name="Cem"/></Users>
  <CodeBook><Codes>
    <Code guid="22222222-2222-2222-2222-222222222222" name="MILITARY COOPERATION" isCodable="true"/>
    <Code guid="33333333-3333-3333-3333-333333333333" name="Terror threat" isCodable="true"/>
    <Code guid="44444444-4444-4444-4444-444444444444" name="Culture" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="55555555-5555-5555-5555-555555555555" name="a"
                plainTextPath="internal://55555555-5555-5555-5555-555555555555.txt">
      {selections}
    </TextSource>
  </Sources>
</Project>
"""


def selection(start: int, end: int, code: str, n: int) -> str:
    return (
        f'<PlainTextSelection guid="66666666-6666-6666-6666-66666666666{n}" '
        f'startPosition="{start}" endPosition="{end}" '
        f'creatingUser="11111111-1111-1111-1111-111111111111">'
        f'<Coding guid="77777777-7777-7777-7777-77777777777{n}" '
        f'creatingUser="11111111-1111-1111-1111-111111111111">'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


def test_import_from_another_tool_maps_names_and_units_per_sentence(
    coded: Project, tmp_path: Path
) -> None:
    doc = coded.documents().query("path.str.endswith('a.md')")
    doc_id = int(doc["document_id"].iat[0])
    with coded.store.engine.connect() as conn:
        text = conn.execute(
            sa.select(t.documents.c.text).where(t.documents.c.id == doc_id)
        ).scalar_one()
    sents = coded.sentences(text=True).query("document_id == @doc_id").reset_index(drop=True)
    first, second = sents.iloc[0], sents.iloc[1]
    word = text.index("military", int(first["start"]))  # a phrase inside the first sentence
    sels = "".join([
        selection(word, word + 8, "22222222-2222-2222-2222-222222222222", 1),
        # a selection spanning the second sentence and the start of the third
        selection(int(second["start"]), int(sents.iloc[2]["start"]) + 3,
                  "33333333-3333-3333-3333-333333333333", 2),
        selection(0, 5, "44444444-4444-4444-4444-444444444444", 3),
    ])  # fmt: skip
    path = tmp_path / "maxqda.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", OTHER_TOOL.replace("{selections}", sels))
        zf.writestr("sources/55555555-5555-5555-5555-555555555555.txt", text)
    result = import_qdpx(coded, path, mapping={"Terror threat": "terrorism_transnational"})
    assert result.unmapped_codes == {"Culture": 1}
    human = coded.codings(human=True).query("source == 'human'")
    got = set(zip(human["segment_id"], human["category"], human["coder"], strict=True))
    assert got == {
        (int(first["segment_id"]), "military_cooperation", "Cem"),
        (int(second["segment_id"]), "terrorism_transnational", "Cem"),
    }


def test_export_and_import_through_the_cli(
    humans: Project, corpus: Path, codebook_file: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from secprio.cli import app

    runner = CliRunner()
    root = str(humans.root)
    res = runner.invoke(app, ["export", str(tmp_path / "p.qdpx"), "-c", "Ana Ortiz", "-p", root])
    assert res.exit_code == 0, res.output
    assert {c.coder for c in read_qdpx(tmp_path / "p.qdpx").codings} == {"Ana Ortiz"}
    res = runner.invoke(app, ["export", str(tmp_path / "book.qdc"), "-p", root])
    assert res.exit_code == 0 and (tmp_path / "book.qdc").is_file()
    res = runner.invoke(app, ["export", str(tmp_path / "p.zip"), "-p", root])
    assert res.exit_code == 2 and ".qdpx or .qdc" in res.output
    other = Project.init(tmp_path / "other", codebook=codebook_file)
    res = runner.invoke(
        app,
        [
            "import-qdpx",
            str(tmp_path / "p.qdpx"),
            "--map",
            "Military cooperation=counter_terrorism",
            "-p",
            str(other.root),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "stored 2 sentence coding(s)" in res.output
    cats = set(other.codings(human=True)["category"])
    assert cats == {"counter_terrorism"}  # the mapping wins over the label
    res = runner.invoke(
        app, ["import-qdpx", str(tmp_path / "p.qdpx"), "--map", "nothing", "-p", str(other.root)]
    )
    assert res.exit_code == 2 and "Code name=category_id" in res.output
