"""Two processes on one project: writers are refused while another holds the lock, readers
see one state of the store while ``code`` commits.

Every process is real (``python -m secprio`` or a Python child holding the lock); the project,
its corpus and the files imported are made by the tests.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from secprio.project import Project

CLI = [sys.executable, "-m", "secprio"]
HOLD = """
import sys
from secprio.project import Project
proj = Project.open(sys.argv[1])
with proj.store.lock(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "250"}  # messages on one line


@pytest.fixture
def holder(coded: Project) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the project's writer lock, as ``code`` holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(coded.root), "code"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        release(proc)


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(), timeout=120)


def gold_csv(project: Project, path: Path) -> Path:
    """Every sentence of the project coded by two people (one category, or none)."""
    sents = project.sentences(text=True)
    cats = [*project.codebook.ids(), ""]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "text", "lang", "category", "coder"])
        for i, text in enumerate(sents["text"]):
            for k, coder in ((1, "ann_a"), (2, "ann_b")):
                out.writerow([f"g{i}", text, "en", cats[(i * k) % len(cats)], coder])
    return path


def humans(project: Project) -> int:
    codings = project.store.table("codings")
    return int((codings["source"] == "human").sum())


def refused(done: subprocess.CompletedProcess[str], stage: str, holder: int) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "E402" in output and "Traceback" not in output, output
    assert "another secprio process is writing" in output and f"{stage} did not start" in output
    assert f"pid {holder}, code" in output, output  # the holder is named


def test_import_gold_is_refused_while_another_process_writes(
    coded: Project, holder: subprocess.Popen[str], tmp_path: Path
) -> None:
    gold = gold_csv(coded, tmp_path / "gold.csv")
    done = cli("import-gold", str(gold), "-p", str(coded.root))
    refused(done, "import-gold", holder.pid)
    assert humans(coded) == 0  # nothing was written
    release(holder)
    done = cli("import-gold", str(gold), "-p", str(coded.root))
    assert done.returncode == 0 and "stored" in done.stderr + done.stdout, done.stderr
    assert humans(coded) == 2 * len(coded.sentences()) * len(coded.codebook.ids())


def test_import_qdpx_is_refused_while_another_process_writes(
    coded: Project, tmp_path: Path
) -> None:
    gold = gold_csv(coded, tmp_path / "gold.csv")
    assert cli("import-gold", str(gold), "-p", str(coded.root)).returncode == 0
    qdpx = tmp_path / "out.qdpx"
    assert cli("export", str(qdpx), "-p", str(coded.root)).returncode == 0
    other = Project.init(tmp_path / "other", codebook=coded.root / coded.settings.codebook)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(other.root), "code"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        done = cli("import-qdpx", str(qdpx), "-p", str(other.root))
        refused(done, "import-qdpx", proc.pid)
        assert other.documents().empty and humans(other) == 0  # nothing ingested or stored
        assert not (other.root / "imported").exists() or not any(
            (other.root / "imported").iterdir()
        )
    finally:
        release(proc)
    # free again: the import ingests the documents it brings (the lock is held once, by it)
    done = cli("import-qdpx", str(qdpx), "-p", str(other.root))
    assert done.returncode == 0 and "stored" in done.stderr + done.stdout, done.stderr
    assert len(other.documents()) == len(coded.documents())
    assert humans(other) > 0


def test_a_snapshot_does_not_see_what_another_process_commits(
    project: Project, corpus: Path
) -> None:
    project.ingest([corpus])
    with project.store.snapshot():
        before = project.coverage()
        done = cli("code", "-p", str(project.root))  # another process codes everything
        assert done.returncode == 0, done.stdout + done.stderr
        assert project.coverage() == before and before["current"] == 0
        assert project.codings(human=False).empty
    assert project.coverage()["current"] == len(project.documents()) > 0  # outside: new state
    assert not project.codings(human=False).empty


def _big_corpus(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"d{i:03}.txt").write_text(
            f"Document {i}. The states agreed on military cooperation. Terrorism is a threat.\n"
            * 30,
            encoding="utf-8",
        )
    return folder


def test_score_and_report_during_code_read_one_state(project: Project, tmp_path: Path) -> None:
    """While ``code`` commits batch after batch, ``score`` and ``report`` either refuse
    (nothing coded yet, E522) or measure one state: the score table's documents and the
    warning's count of uncoded documents agree, never a traceback."""
    project.ingest([_big_corpus(tmp_path / "c", 80)])
    n_docs = len(project.documents())
    coding = subprocess.Popen(
        [*CLI, "code", "-p", str(project.root), "--batch", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )  # fmt: skip
    outcomes: list[tuple[str, subprocess.CompletedProcess[str], Path | None]] = []
    try:
        while coding.poll() is None and len(outcomes) < 6:
            csv_path = tmp_path / f"s{len(outcomes)}.csv"
            done = cli("score", "-p", str(project.root), "--csv", str(csv_path))
            outcomes.append(("score", done, csv_path))
            rep = cli("report", "-p", str(project.root), "-o", str(tmp_path / "r"))
            outcomes.append(("report", rep, None))
    finally:
        assert coding.wait(timeout=300) == 0
    assert outcomes, "code finished before any score ran"
    for what, done, path in outcomes:
        output = done.stdout + done.stderr
        assert "Traceback" not in output, output
        assert done.returncode == 0 or "E522" in output, (what, output)
        if what == "score" and done.returncode == 0:
            assert path is not None
            with path.open(encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            assert {int(r["n_documents"]) for r in rows} == {n_docs}
            # every document has a military cooperation sentence: the documents its codings
            # come from are the documents the warning counts as coded
            found = re.search(r"(\d+)\s+of\s+(\d+)\s+document\(s\)\s+are\s+not", output)
            uncoded = int(found[1]) if found else 0
            military = next(r for r in rows if r["category"] == "military_cooperation")
            assert int(military["n_docs_coded"]) == n_docs - uncoded, output
    assert project.code().documents == 0  # code finished everything
