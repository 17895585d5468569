"""`secprio methods`: the paragraph states the run's own numbers; the appendix in three formats."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from secprio.cli import app
from secprio.project import Project
from secprio.report import methods


def test_the_paragraph_states_the_projects_numbers(coded: Project) -> None:
    f = methods.facts(coded)
    text = methods.paragraph(coded)
    docs = coded.documents()
    assert f"consists of {len(docs)} documents ({len(coded.sentences())} sentences)" in text
    for lang, n in docs["language"].value_counts().items():
        assert f"{lang} {n}" in text
    assert f["codebook"] in text and f["coder"] in text
    assert f"{coded.settings.measure.bootstrap} replicates" in text
    assert "1–9 scale (ratio" in text
    # a test codebook is not a pack's: no validation figure may be invented for it
    assert "no recorded validation" in text


def test_the_cli_prints_it_and_writes_the_appendix(coded: Project, tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(app, ["methods", "-p", str(coded.root), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("The corpus consists of")
    assert (out / "methods.txt").read_text(encoding="utf-8") == res.output.split("wrote ")[0]
    md = (out / "codebook.md").read_text(encoding="utf-8")
    n = len(coded.codebook.categories)
    assert md.count("\n|") == n + 2  # the header, the rule and one row per category
    tex = (out / "codebook.tex").read_text(encoding="utf-8")
    assert "\\begin{longtable}" in tex
    body = tex.split("\\endhead\n")[1].split("\\hline\n\\end")[0]
    assert body.count(" \\\\\n") == n
    assert not re.search(r"(?<!\\)[%#_$]", body)  # every TeX special character is escaped
    from docx import Document

    doc = Document(str(out / "codebook.docx"))
    assert len(doc.tables[0].rows) == len(coded.codebook.categories) + 1


def test_tex_special_characters_are_escaped() -> None:
    assert methods._tex("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"


def test_before_any_coding_it_says_to_code(project: Project) -> None:
    res = CliRunner().invoke(app, ["methods", "-p", str(project.root)])
    assert res.exit_code == 2 and "secprio code" in res.output
