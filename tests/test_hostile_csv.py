"""CSV outputs are inert in a spreadsheet: a text cell that starts with = + - @ tab or CR
(from document text, titles or names) gets a leading ``'`` (OWASP's rule); numbers stay numbers
and gold files secprio writes read back as written."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from secprio import files
from secprio.cli import app
from secprio.exchange import gold
from secprio.project import Project

from .conftest import write_doc

FORMULAS = ['=HYPERLINK("http://127.0.0.1:9/x","click")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(A1:A9)", "\tmilitary", "\r=1+1"]  # fmt: skip


def cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [c for row in csv.reader(fh) for c in row]


def runs_as_formula(cell: str) -> bool:
    if not cell.startswith(files.FORMULA_START):
        return False
    try:
        float(cell)  # a negative number is a number in every spreadsheet
    except ValueError:
        return True
    return False


def test_text_cells_get_a_quote_and_numbers_stay_numbers(tmp_path: Path) -> None:
    df = pd.DataFrame({"text": FORMULAS, "score": [-1.5, 2, -3, 4, 5, -6], "n": range(6)})
    out = files.write_csv(tmp_path / "t.csv", df)
    back = pd.read_csv(out)
    assert list(back["text"]) == ["'" + f for f in FORMULAS]
    assert list(back["score"]) == [-1.5, 2, -3, 4, 5, -6]
    assert not [c for c in cells(out) if runs_as_formula(c)]
    assert files.write_csv(tmp_path / "plain.csv", pd.DataFrame({"t": ["a=b", "x"]}))
    assert pd.read_csv(tmp_path / "plain.csv")["t"].tolist() == ["a=b", "x"]


def test_gold_written_inert_reads_back_as_written(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {"unit": ["u1", "u2"], "text": ["=1+1 was said.", "'quoted' text"], "lang": "en",
         "category": ["a", ""], "coder": ["@ann", "ann"]}
    )  # fmt: skip
    path = gold.write(rows, tmp_path / "gold.csv")
    assert not [c for c in cells(path) if runs_as_formula(c)]
    back = gold.read(path).rows
    assert back["text"].tolist() == ["=1+1 was said.", "'quoted' text"]
    assert back["coder"].tolist() == ["@ann", "ann"]


def test_report_and_cli_csv_hold_no_formula(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    for i, formula in enumerate(FORMULAS[:4]):
        write_doc(folder, f"d{i}.md", f"202{i}-01-02", "declaration", "OTS", "en",
                  [f"{formula} military cooperation was agreed against terrorism. "
                   f"{formula} joint exercises against extremism."])  # fmt: skip
        doc = folder / f"d{i}.md"
        doc.write_text(doc.read_text().replace(f"title: Document d{i}.md", f"title: '{formula}'"))
    project.ingest([folder])
    project.code()
    runner = CliRunner()
    res = runner.invoke(app, ["report", "-p", str(project.root), "-o", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    links = tmp_path / "links.csv"
    res = runner.invoke(app, ["links", "-p", str(project.root), "--csv", str(links)])
    assert res.exit_code == 0, res.output
    written = [*sorted((tmp_path / "rep").glob("*.csv")), links]
    text = "".join("".join(cells(p)) for p in written)
    assert "military cooperation was agreed" in text  # the evidence passages are there
    bad = {p.name: c for p in written for c in cells(p) if runs_as_formula(c)}
    assert not bad
