"""Parquet export: every table of a real project read back equal to the store's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from secprio import api
from secprio.cli import app
from secprio.errors import ExchangeError
from secprio.exchange import parquet
from secprio.project import Project


@pytest.fixture
def decided(coded: Project) -> Project:
    """The coded mini project with a person's decision on its first sentence."""
    first = int(coded.sentences()["segment_id"].min())
    cats = coded.codebook.ids()
    coded.store.decide(first, "ana", {cats[0]: 0, cats[1]: 1}, expected=0, memo="checked")
    return coded


def test_every_table_reads_back_as_in_the_store(decided: Project, tmp_path: Path) -> None:
    out = tmp_path / "pq"
    files = api.export_parquet(decided, out, coder=None)
    assert set(files["table"]) == {*parquet.TABLES, parquet.SENTENCE_CODINGS}
    for name in parquet.TABLES:
        got = pd.read_parquet(out / f"{name}.parquet")
        assert len(got) == len(decided.store.table(name)), name
    docs = pd.read_parquet(out / "documents.parquet")
    stored = decided.store.table("documents")
    assert docs["text"].tolist() == stored["text"].tolist()
    assert isinstance(docs["extra"].iat[0], str)  # JSON columns are JSON text
    segs = pd.read_parquet(out / "segments.parquet").set_index("id")
    sents = decided.sentences(text=True).set_index("segment_id")
    assert (segs.loc[sents.index, "text"] == sents["text"]).all()
    decisions = pd.read_parquet(out / "decisions.parquet")
    assert decisions["coder"].tolist() == ["ana"] and decisions["memo"].iat[0] == "checked"
    codings = pd.read_parquet(out / "codings.parquet")
    assert set(codings["source"]) == {"machine", "human"}
    assert codings["run_id"].dropna().isin(pd.read_parquet(out / "runs.parquet")["id"]).all()


def test_sentence_codings_hold_every_cell_with_human_decisions_winning(
    decided: Project, tmp_path: Path
) -> None:
    parquet.export(decided, tmp_path / "pq", batch=5)  # several row groups
    cells = pd.read_parquet(tmp_path / "pq" / "sentence_codings.parquet")
    cats = decided.codebook.ids()
    sents = decided.sentences()
    assert len(cells) == len(sents) * len(cats)
    assert pq.ParquetFile(tmp_path / "pq" / "sentence_codings.parquet").num_row_groups > 1
    effective = decided.codings()
    applied = cells[cells["value"] == 1]
    assert len(applied) == int((effective["value"] == 1).sum())
    first = cells[cells["segment_id"] == sents["segment_id"].min()].set_index("category")
    assert first.loc[cats[0], ["value", "coder", "source"]].tolist() == [0, "ana", "human"]
    assert first.loc[cats[1], ["value", "coder", "source"]].tolist() == [1, "ana", "human"]


def test_the_export_command_writes_parquet(decided: Project, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    res = CliRunner().invoke(
        app, ["export", str(out), "--format", "parquet", "-p", str(decided.root)]
    )
    assert res.exit_code == 0, res.output
    assert "wrote 10 Parquet files" in res.output
    assert len(pd.read_parquet(out / "documents.parquet")) == 3


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_a_bad_output_path_is_a_clear_error(decided: Project, tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x", encoding="utf-8")
    target = blocker if where == "file" else blocker / "pq"
    with pytest.raises(ExchangeError):
        parquet.export(decided, target)
    res = CliRunner().invoke(
        app, ["export", str(target), "--format", "parquet", "-p", str(decided.root)]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert ("E354" if where == "file" else "E355") in res.output, res.output
