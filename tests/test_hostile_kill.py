"""kill -9 during a write: what a killed writer leaves is removed by the next run, and a
couple of real kill trials per stage (scripts/killtrials.py runs many; -m slow here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secprio.cli import app
from secprio.project import Project

ROOT = Path(__file__).resolve().parent.parent


def killed_writer(target: Path) -> Path:
    """A real process that starts an atomic write of ``target`` and is killed with -9."""
    code = (
        "import sys, time\nfrom secprio import files\n"
        "with files.atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'half')\n    print(tmp, flush=True)\n    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip
    assert proc.stdout is not None
    tmp = Path(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return tmp


def test_an_export_killed_mid_write_leaves_nothing_after_the_next_run(coded: Project) -> None:
    target = coded.root / "out.qdpx"
    tmp = killed_writer(target)
    assert tmp.exists() and not target.exists()  # the kill left the temporary file
    res = CliRunner().invoke(app, ["export", str(target), "-p", str(coded.root)])
    assert res.exit_code == 0, res.output
    assert target.exists() and not tmp.exists()
    assert [p.name for p in coded.root.iterdir() if p.name.endswith(".tmp")] == []


def test_a_live_writers_file_is_left_alone(tmp_path: Path) -> None:
    from secprio import files

    target = tmp_path / "t.csv"
    mine = tmp_path / f".t.csv.{os.getppid()}.tmp"  # a process that is alive: our parent
    mine.write_bytes(b"in progress")
    files.write_text(target, "done")
    assert mine.exists() and target.read_text() == "done"


@pytest.mark.slow
def test_kill_trials_every_stage() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "killtrials.py"), "--per-stage", "2",
         "--docs", "10"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "DIFFERENT" not in done.stdout


def _killtrials() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("killtrials", ROOT / "scripts" / "killtrials.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("killtrials", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_killtrials_counts_a_write_only_when_one_is_made(tmp_path: Path) -> None:
    """The trials' evidence that a stage had begun writing: opening the store, reading it,
    taking the lock and the trial's own log are no write; a WAL frame and a temporary file
    are."""
    import sqlite3

    kt = _killtrials()
    project = tmp_path / "project"
    project.mkdir()
    con = sqlite3.connect(project / "secprio.db")
    con.execute("pragma journal_mode=wal")
    con.execute("create table t (x)")
    con.commit()
    con.close()  # the last connection: the WAL is checkpointed and removed
    base = kt.snapshot(project)  # type: ignore[attr-defined]
    reader = sqlite3.connect(project / "secprio.db")
    assert reader.execute("select count(*) from t").fetchone() == (0,)
    (project / "secprio.db.lock").touch()
    (project / "killed.log").write_text("started\n")
    assert kt.changed(base, kt.snapshot(project), project) is None  # type: ignore[attr-defined]
    writer = sqlite3.connect(project / "secprio.db")
    writer.execute("insert into t values (1)")
    writer.commit()
    assert kt.changed(base, kt.snapshot(project), project) == "secprio.db-wal"  # type: ignore[attr-defined]
    writer.close()
    reader.close()
    base = kt.snapshot(project)  # type: ignore[attr-defined]
    (project / "report").mkdir()
    (project / "report" / ".scores.csv.123.tmp").write_bytes(b"half")
    assert kt.changed(base, kt.snapshot(project), project) == "report/.scores.csv.123.tmp"  # type: ignore[attr-defined]
