"""Two writers on one PostgreSQL store (team mode): the second is refused clearly or waits its
turn, never both writing; the lock is PostgreSQL's advisory lock, so it spans machines."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from secprio.config import MeasureSettings, Settings
from secprio.errors import StoreError
from secprio.project import Project
from tests.web_helpers import fresh_postgres

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


@pytest.fixture
def pg(tmp_path: Path, codebook_file: Path) -> Iterator[Project]:
    with fresh_postgres() as url:
        settings = Settings(name="pg", store=url, measure=MeasureSettings(bootstrap=50, seed=7))
        project = Project.init(tmp_path / "pg", codebook=codebook_file, settings=settings)
        corpus = tmp_path / "c"
        corpus.mkdir()
        for i in range(30):
            (corpus / f"d{i}.txt").write_text(
                f"Document {i}. The states agreed on military cooperation. Terrorism is a threat.\n"
                * 10
            )
        project.ingest([corpus])
        yield project
        project.store.engine.dispose()


def cli(project: Project, *args: str) -> list[str]:
    return [sys.executable, "-m", "secprio", *args, "-p", str(project.root)]


def test_a_second_process_is_refused_while_one_writes(pg: Project, tmp_path: Path) -> None:
    with pg.store.lock("code (a colleague's run)"):
        done = subprocess.run(cli(pg, "code"), capture_output=True, text=True, env=ENV)
        assert done.returncode == 2, done.stdout + done.stderr
        said = done.stdout + done.stderr
        assert "another secprio process is writing" in said and "Traceback" not in said
        assert "code (a colleague's run)" in said and "fix: wait for it to finish" in said
        other = Project.open(pg.root)  # another writer (the lock nests within one Store)
        with pytest.raises(StoreError, match="ingest did not start"):
            other.ingest([tmp_path / "c"])
    assert pg.code().documents == 30  # the lock is free again


def test_two_code_processes_at_once_on_postgres_never_duplicate(pg: Project) -> None:
    procs = [
        subprocess.Popen(cli(pg, "code", "--batch", "3"), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=ENV)
        for _ in range(2)
    ]  # fmt: skip
    outcomes = [(p.wait(), p.stdout.read() if p.stdout else "") for p in procs]
    for code, output in outcomes:
        assert code in (0, 2) and "Traceback" not in output, output
        if code == 2:
            assert "another secprio process is writing" in output
    assert any(code == 0 for code, _ in outcomes)
    with pg.store.engine.connect() as conn:
        dup = conn.execute(
            sa.text(
                'select segment_id, category, coder, start, "end" from codings '
                "group by 1, 2, 3, 4, 5 having count(*) > 1"
            )
        ).fetchall()
    assert dup == []
    assert pg.code().documents == 0  # everything was coded once
