"""The store: versions, human codings that survive re-runs, and runs that survive kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from secprio.coders.base import Coding
from secprio.project import Project
from tests.conftest import write_doc


def test_reingesting_an_unchanged_file_does_nothing(project: Project, corpus: Path) -> None:
    first = project.ingest([corpus])
    again = project.ingest([corpus])
    assert len(first.added) == 3 and not again.added
    assert len(again.unchanged) == 3
    assert len(project.documents()) == 3


def test_a_changed_file_becomes_a_new_version(project: Project, corpus: Path) -> None:
    project.ingest([corpus])
    write_doc(corpus, "a.md", "2019-05-01", "declaration", "OTS", "en", ["Only trade now."])
    result = project.ingest([corpus])
    assert len(result.versions) == 1
    docs = project.documents()
    assert len(docs) == 3  # only the newest version of a.md is active
    assert int(docs.loc[docs["path"].str.endswith("a.md"), "version"].iat[0]) == 2


def test_a_fixed_file_leaves_the_skipped_list(project: Project, corpus: Path) -> None:
    (corpus / "late.txt").write_bytes(b"")
    project.ingest([corpus])
    assert project.skipped()["path"].str.endswith("late.txt").tolist() == [True]
    (corpus / "late.txt").write_text("The ministers met in Baku.", encoding="utf-8")
    project.ingest([corpus])
    assert project.skipped().empty
    assert project.documents()["path"].str.endswith("late.txt").any()


def test_codings_record_pattern_span_and_provenance(coded: Project) -> None:
    cod = coded.codings()
    sents = coded.sentences(text=True).set_index("segment_id")
    row = cod[cod["category"] == "military_cooperation"].iloc[0]
    text = sents.loc[row["segment_id"], "text"]
    assert text[row["start"] : row["end"]].lower() in {"military cooperation", "joint exercises"}
    assert row["pattern"] in {"military cooperation", "joint exercise*"}
    runs = coded.runs()
    assert runs["codebook_sha256"].iat[0] == coded.codebook.sha256
    assert runs["status"].iat[0] == "complete"
    assert runs["coder_version"].iat[0].startswith("0.1.0")


def test_human_codings_win_and_survive_a_rerun(coded: Project) -> None:
    cod = coded.codings()
    target = cod[cod["category"] == "military_cooperation"].iloc[0]
    other = coded.sentences(text=True)
    culture = other[other["text"].str.contains("Culture")]["segment_id"].iat[0]
    coded.store.add_human(
        [
            Coding(int(target["segment_id"]), "military_cooperation", "human:ana", "", value=0),
            Coding(int(culture), "military_cooperation", "human:ana", ""),
        ]
    )
    # a codebook edit makes a new coder version: everything is coded again
    path = coded.root / coded.settings.codebook
    path.write_text(path.read_text() + "\n", encoding="utf-8")
    del coded.__dict__["codebook"]
    coded.code()
    eff = coded.codings()
    cell = eff[
        (eff["segment_id"] == target["segment_id"]) & (eff["category"] == "military_cooperation")
    ]
    assert cell["value"].tolist() == [0] and cell["source"].tolist() == ["human"]
    added = eff[(eff["segment_id"] == culture) & (eff["category"] == "military_cooperation")]
    assert added["value"].tolist() == [1]
    assert len(coded.store.table("codings").query("source == 'human'")) == 2


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # tables not created yet
            return 0


def _signature(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return sorted(
            conn.execute(
                'select d.path, s.idx, c.category, c.pattern, c.start, c."end" from codings c '
                "join segments s on s.id = c.segment_id join documents d on d.id = s.document_id"
            ).fetchall()
        )


N_DOCS = 150


@pytest.mark.parametrize("kill_after", [2, 25])
def test_a_run_killed_with_sigkill_resumes_without_loss_or_duplicates(
    tmp_path: Path, codebook_file: Path, kill_after: int
) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(N_DOCS):
        write_doc(
            folder,
            f"d{i:03d}.md",
            "2020-01-01",
            "news",
            "TR",
            "en",
            [
                "Military cooperation and joint exercises. " * 10,
                "Terrorism is a threat; the fight against terrorism goes on. " * 10,
            ]
            * 3,
        )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "secprio"]
    for name in ("killed", "clean"):
        Project.init(tmp_path / name, codebook=codebook_file).ingest([folder])
    db = tmp_path / "killed" / "secprio.db"
    proc = subprocess.Popen(
        [*cli, "code", "--batch", "1", "-p", str(tmp_path / "killed")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _count(db, "select count(*) from run_documents") < kill_after:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _count(db, "select count(*) from run_documents")
    assert kill_after <= done < N_DOCS, "the run must have been interrupted midway"
    subprocess.run([*cli, "code", "-p", str(tmp_path / "killed")], check=True, env=env)
    Project.open(tmp_path / "clean").code()
    killed = _signature(db)
    assert killed == _signature(tmp_path / "clean" / "secprio.db")
    # per document: 3 × (10 military sentences + 10 terrorism sentences × 2 categories)
    assert len(killed) == len(set(killed)) == N_DOCS * 3 * (10 + 20)
    assert _count(db, "select count(*) from runs where status = 'complete'") == 1


def _imports(path: Path) -> list[str]:
    import ast

    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names += [base, *(f"{base}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def test_only_the_store_writes_sql() -> None:
    """Issue 14: no module outside secprio.store imports SQLAlchemy or the store's tables
    (a query written elsewhere would bypass the Store's snapshot, lock and bulk writes)."""
    src = Path(__file__).resolve().parents[1] / "src" / "secprio"
    store = src / "store"
    offenders = []
    for path in sorted(src.rglob("*.py")):
        if store in path.parents:
            continue
        for name in _imports(path):
            if name.split(".")[0] == "sqlalchemy" or name.startswith("secprio.store.schema"):
                offenders.append(f"{path.relative_to(src)}: {name}")
    assert not offenders
    assert "sqlalchemy" in _imports(store / "store.py")  # the scan sees what it looks for


def test_documents_are_found_by_path_through_an_index(tmp_path: Path) -> None:
    """Storing a document looks up its path's versions: by the index of migration 0006, in a
    new store and in one made before it (upgraded on open), not by reading every document."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from secprio.store.engine import MIGRATIONS
    from secprio.store.store import Store

    old = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{old}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    engine.dispose()
    names = {i[1] for i in sqlite3.connect(old).execute("PRAGMA index_list(documents)")}
    assert "ix_documents_path" not in names
    for path in (old, tmp_path / "new.db"):
        Store(f"sqlite:///{path}").engine.dispose()  # opening applies the migrations
        db = sqlite3.connect(path)
        names = {i[1] for i in db.execute("PRAGMA index_list(documents)")}
        plan = " ".join(str(r) for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT max(version) FROM documents WHERE path = 'a'"))  # fmt: skip
        db.close()
        assert "ix_documents_path" in names and "ix_documents_path" in plan, path


def test_a_store_at_the_newest_revision_opens_without_alembic(tmp_path: Path) -> None:
    """The head read from the migration files is Alembic's; a new store gets it, and opening
    it again finds it there (so Alembic is not started), in a fresh interpreter."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from secprio.store.engine import MIGRATIONS, _head

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert _head() == ScriptDirectory.from_config(cfg).get_current_head()
    db = tmp_path / "s.db"
    code = (
        "import sys\nfrom secprio.store.store import Store\n"
        f"Store({f'sqlite:///{db}'!r}).engine.dispose()\n"
        "print('alembic' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.strip() for _ in range(2)]  # fmt: skip
    assert runs == ["True", "False"]  # migrated by Alembic once, then left alone
    assert sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchall() == [
        (_head(),)
    ]
