"""Hostile input files: each one is skipped with its reason, the run goes on, nothing leaks.

Every input is made by the test; the project, the store and the reader processes are real.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from secprio import config
from secprio.cli import app
from secprio.errors import StoreError
from secprio.ingest.corpus import scan
from secprio.ingest.limits import Limits
from secprio.ingest.model import Document, Skipped
from secprio.project import Project
from tests.test_ingest import write_docx, write_pdf

GOOD = "The summit adopted a declaration on security. Leaders agreed on joint exercises.\n"


def _reasons(results: list[Document | Skipped]) -> dict[str, str]:
    return {Path(r.path).name: r.reason for r in results if isinstance(r, Skipped)}


def _docs(results: list[Document | Skipped]) -> set[str]:
    return {Path(r.path).name for r in results if isinstance(r, Document)}


def _with_limits(project: Project, **limits: Any) -> Project:
    settings = dataclasses.replace(
        project.settings, ingest=dataclasses.replace(project.settings.ingest, **limits)
    )
    config.save(settings, project.root / config.CONFIG_NAME)
    return Project.open(project.root)


# -- metadata that once ended the whole ingest ------------------------------------------------


def test_hostile_sidecars_are_skipped_and_the_rest_is_stored(
    project: Project, tmp_path: Path
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    sidecars = {
        "circular": "a: &a [*a]\n",  # 12 bytes that refer to themselves
        "laughs": "a: &a [x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "title: *i\n",  # nested references: 9^9 strings once expanded
        "future": "date: 9999-12-31\n",
        "ancient": "date: 0001-01-01\n",
        "feb30": "date: 2020-02-30\n",
        "hour25": "date: 2020-01-01 25:00:00\n",
        "deep": "x: " + "[" * 3000 + "]" * 3000 + "\n",
        "dated_key": "notes: {2020-01-01: signed}\n",  # a date as a mapping key: kept as text
    }
    for name, text in sidecars.items():
        (corpus / f"{name}.txt").write_text(f"{name.title()}. {GOOD}", encoding="utf-8")
        (corpus / f"{name}.yaml").write_text(text, encoding="utf-8")
    (corpus / "fine.txt").write_text(GOOD, encoding="utf-8")
    assert len(sidecars["laughs"].encode()) < 400
    result = project.ingest([corpus])
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    added = {"fine.txt", "dated_key.txt", "future.txt", "ancient.txt"}
    assert {Path(p).name for p in result.added} == added
    expected = {
        "circular.txt": "references (*name) are not allowed",
        "laughs.txt": "references (*name) are not allowed",
        "feb30.txt": "day is out of range",
        "hour25.txt": "hour must be in",
        "deep.txt": "nested too deeply",
    }
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name] and "fix:" in reasons[name], reasons[name]
        assert "unexpected" not in reasons[name]
    stored = project.documents()
    extra = stored[stored["path"].str.endswith("dated_key.txt")]["extra"].iloc[0]
    assert extra["notes"] == {"2020-01-01": "signed"}


def test_one_date_rule_a_date_outside_1900_to_today_keeps_the_document_undated(
    project: Project, tmp_path: Path
) -> None:
    """Every date outside 1900–today is treated alike, the 1850 typo as the hostile year 9999:
    the document is stored, undated, with a warning that names the date and the fix."""
    corpus = tmp_path / "dates"
    corpus.mkdir()
    dates = {"ancient": "0001-01-01", "victorian": "1850-05-05", "ok": "2019-05-01",
             "next_year": str(dt.date.today().year + 1), "far": "9999-12-31"}  # fmt: skip
    for name, date in dates.items():
        (corpus / f"{name}.txt").write_text(f"{name.title()}. {GOOD}", encoding="utf-8")
        (corpus / f"{name}.yaml").write_text(f"date: '{date}'\ndoc_type: news\nissuer: TR\n")
    result = project.ingest([corpus])
    assert len(result.added) == 5 and not result.skipped
    docs = project.documents().set_index(project.documents()["path"].map(lambda p: Path(p).stem))
    assert docs.loc["ok", "date"] == "2019-05-01"
    for name in ("ancient", "victorian", "next_year", "far"):
        assert not docs.loc[name, "date"], name  # undated
        (warning,) = docs.loc[name, "extra"]["warnings"]
        assert "is out of range (before 1900 or after today)" in warning and "fix:" in warning
    assert "date 1850-05-05" in docs.loc["victorian", "extra"]["warnings"][0]


def test_metadata_csv_in_latin1_or_with_a_huge_field_is_a_clear_skip(tmp_path: Path) -> None:
    latin, huge = tmp_path / "latin", tmp_path / "huge"
    for folder in (latin, huge):
        folder.mkdir()
        (folder / "doc.txt").write_text(GOOD, encoding="utf-8")
    (latin / "metadata.csv").write_bytes("file,title\ndoc.txt,Türkiye\n".encode("latin-1"))
    (huge / "metadata.csv").write_text("file,title\ndoc.txt," + "x" * 200_000 + "\n")
    reasons = {
        Path(r.path).parent.name: r.reason for r in scan([latin, huge]) if isinstance(r, Skipped)
    }
    assert "metadata.csv is not UTF-8" in reasons["latin"]
    assert "cannot be read as CSV" in reasons["huge"] and "field larger" in reasons["huge"]


# -- file names and terminal markup ----------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_skipped_and_printed(
    project: Project, tmp_path: Path
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ok.txt").write_text(GOOD, encoding="utf-8")
    bad = os.path.join(os.fsencode(corpus), b"caf\xe9.txt")
    with open(bad, "wb") as handle:  # noqa: PTH123 - a bytes path
        handle.write(GOOD.encode())
    res = CliRunner().invoke(app, ["ingest", str(corpus), "-p", str(project.root)])
    assert res.exit_code == 3, res.output
    assert "caf\\xe9.txt" in res.output and "not valid UTF-8" in res.output
    assert "Traceback" not in res.output
    assert [Path(p).name for p in project.documents()["path"]] == ["ok.txt"]
    assert project.skipped()["path"].str.contains("caf").any()


def test_a_skipped_path_with_markup_is_printed_as_written(project: Project, tmp_path: Path) -> None:
    corpus = tmp_path / "[/x] [bold]c"  # folders "[" and "x] [bold]c"
    corpus.mkdir(parents=True)
    (corpus / "[x].txt").write_bytes(b"")  # empty: skipped, and its name is in the reason
    (corpus / "fine.txt").write_text(GOOD, encoding="utf-8")
    res = CliRunner().invoke(app, ["ingest", str(corpus), "-p", str(project.root)])
    assert res.exit_code == 3, res.output
    assert "[/x] [bold]c/[x].txt" in res.output and "empty" in res.output


# -- limits ----------------------------------------------------------------------------------


def _docx_with(path: Path, **extra: bytes) -> Path:
    write_docx(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in extra.items():
            archive.writestr(name, data)
    return path


def _docx_body(path: Path, body: str) -> Path:
    """A .docx whose word/document.xml is ``body`` inside <w:body>."""
    write_docx(path)
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    xml = f'<?xml version="1.0"?><w:document {ns}><w:body>{body}</w:body></w:document>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = xml.encode() if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item.filename, data)
    path.write_bytes(buffer.getvalue())
    return path


def test_every_limit_skips_the_file_with_the_setting_to_raise(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    _docx_with(corpus / "bomb.docx", **{"word/media/zeros.bin": bytes(40 << 20)})  # ratio ~1000
    _docx_with(corpus / "big.docx", **{"word/media/hex.txt": os.urandom(3 << 19).hex().encode()})
    span = '<w:tcPr><w:gridSpan w:val="100000000"/></w:tcPr>'
    cell = f"<w:tc>{span}<w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc>"
    _docx_body(corpus / "gridspan.docx", f"<w:tbl><w:tr>{cell}</w:tr></w:tbl>")
    _docx_body(corpus / "deep.docx", "<w:p>" * 400 + "</w:p>" * 400)
    write_pdf(corpus / "pages.pdf", [[f"Page {i} of the report."] for i in range(12)])
    rows = "".join(f"<p>Paragraph {i} of the page.</p>" for i in range(3000))
    (corpus / "many.html").write_text(f"<html><body>{rows}</body></html>", encoding="utf-8")
    (corpus / "large.txt").write_text(GOOD * 30_000, encoding="utf-8")  # 2.4 MB
    (corpus / "sentences.txt").write_text("Leaders met. " * 5000, encoding="utf-8")
    (corpus / "fine.txt").write_text(GOOD, encoding="utf-8")
    limits = Limits(max_file_mb=2, max_unpacked_mb=2, max_pages=10, max_elements=2000)
    results = list(scan(corpus, limits=limits))
    reasons = _reasons(results)
    assert _docs(results) == {"fine.txt"}
    expected = {
        "bomb.docx": "ingest.max_ratio",
        "big.docx": "ingest.max_unpacked_mb",
        "gridspan.docx": "ingest.max_elements",
        "deep.docx": "ingest.max_depth",
        "pages.pdf": "ingest.max_pages",
        "many.html": "ingest.max_elements",
        "large.txt": "ingest.max_file_mb",
        "sentences.txt": "ingest.max_elements",
    }
    assert set(reasons) == set(expected)
    for name, setting in expected.items():
        assert setting in reasons[name] and f"raise {setting}" in reasons[name], reasons[name]


def test_limits_are_settings_with_safe_defaults(project: Project) -> None:
    saved = yaml.safe_load((project.root / config.CONFIG_NAME).read_text())
    assert saved["ingest"]["timeout"] == 120 and saved["ingest"]["follow_symlinks"] is False
    path = project.root / config.CONFIG_NAME
    path.write_text(yaml.safe_dump({**saved, "ingest": {"max_pages": 0}}))
    res = CliRunner().invoke(app, ["ingest", str(project.root), "-p", str(project.root)])
    assert res.exit_code == 2 and "ingest.max_pages is 0" in res.output
    path.write_text(yaml.safe_dump({**saved, "ingest": {"max_pagez": 3}}))
    res = CliRunner().invoke(app, ["ingest", str(project.root), "-p", str(project.root)])
    assert res.exit_code == 2 and "unknown setting(s): ingest.max_pagez" in res.output


def _wide_table(path: Path, columns: int = 20_000) -> Path:
    cells = "".join(f"<td>cell {i} of the table</td>" for i in range(columns))
    path.write_text(f"<html><body><article><table><tr>{cells}</tr></table></article></body></html>")
    return path


def test_a_reader_over_its_time_is_stopped_and_the_run_goes_on(
    project: Project, tmp_path: Path
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    _wide_table(corpus / "wide.html")
    (corpus / "after.txt").write_text(GOOD, encoding="utf-8")
    project = _with_limits(project, timeout=1.0)
    result = project.ingest([corpus], workers=1)
    assert len(result.skipped) == 1, [s.reason for s in result.skipped]
    (skip,) = result.skipped
    assert skip.path.endswith("wide.html")
    assert "longer than 1 s (ingest.timeout)" in skip.reason and "stopped" in skip.reason
    assert [Path(p).name for p in result.added] == ["after.txt"]  # the next file, same worker slot


def test_a_reader_over_its_memory_is_skipped_not_the_machine(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 18_000_000)  # 90 MB: bytes + text > 150 MB
    (tmp_path / "fine.txt").write_text(GOOD, encoding="utf-8")
    limits = Limits(max_memory_mb=150, max_chars=10**9, max_elements=10**9)
    results = list(scan(tmp_path, limits=limits))
    reasons = _reasons(results)
    assert _docs(results) == {"fine.txt"}
    assert "ingest.max_memory_mb" in reasons["big.txt"], reasons["big.txt"]


# -- paths -----------------------------------------------------------------------------------


def test_links_out_of_the_folder_loops_and_special_files(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    corpus = tmp_path / "c"
    (corpus / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("A private note outside the corpus. Not to be read.\n")
    (corpus / "fine.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "inside.txt").symlink_to(corpus / "fine.txt")  # a link within the folder: fine
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "loop1.txt").symlink_to(corpus / "loop2.txt")
    (corpus / "loop2.txt").symlink_to(corpus / "loop1.txt")
    (corpus / "broken.txt").symlink_to(corpus / "nowhere.txt")
    (corpus / "sub" / "up").symlink_to(corpus)  # a folder loop
    (corpus / "away").symlink_to(outside)
    os.mkfifo(corpus / "pipe.txt")  # reading a FIFO would block forever
    (corpus / "sidecar.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "sidecar.yaml").symlink_to(outside / "secret.txt")
    results = list(scan(corpus))
    reasons = _reasons(results)
    assert _docs(results) == {"fine.txt"}  # inside.txt is the same file, read once
    expected = {
        "secret.txt": "outside the folder given",
        "passwd.txt": "outside the folder given",
        "loop1.txt": "link loop",
        "loop2.txt": "link loop",
        "broken.txt": "broken link",
        "up": "link to a folder",
        "away": "link to a folder",
        "pipe.txt": "is a FIFO",
        "sidecar.txt": "metadata file is a symbolic link",
    }
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name] and "fix:" in reasons[name], reasons[name]
    assert not any("private note" in r.text for r in results if isinstance(r, Document))

    followed = list(scan(corpus, limits=Limits(follow_symlinks=True)))
    reasons = _reasons(followed)
    assert {"fine.txt", "secret.txt"} <= _docs(followed)
    assert "not a set of key: value lines" in reasons["sidecar.txt"]  # read through the link
    assert "link loop" in reasons["up"] and "link loop" in reasons["loop1.txt"]
    assert "is a FIFO" in reasons["pipe.txt"]


def test_ingest_follow_symlinks_option(project: Project, tmp_path: Path) -> None:
    outside, corpus = tmp_path / "outside", tmp_path / "c"
    outside.mkdir()
    corpus.mkdir()
    (outside / "shared.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "shared.txt").symlink_to(outside / "shared.txt")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(corpus), "-p", str(project.root)])
    assert res.exit_code == 3 and "--follow-symlinks" in res.output
    res = runner.invoke(app, ["ingest", str(corpus), "-p", str(project.root), "--follow-symlinks"])
    assert res.exit_code == 0, res.output
    assert len(project.documents()) == 1


# -- one big line -------------------------------------------------------------------------


def test_a_14_mb_single_line_text_is_segmented(tmp_path: Path) -> None:
    # the splitter searched back to the line start at every period: quadratic on one line
    sentence = "The Council met in Baku and agreed on joint exercises in the region " * 30 + ". "
    (tmp_path / "line.txt").write_text(sentence * (14_000_000 // len(sentence)), encoding="utf-8")
    (doc,) = scan(tmp_path)
    assert isinstance(doc, Document), doc
    assert len(doc.text) > 13_000_000 and "\n" not in doc.text.strip()
    assert len(doc.sentences()) == 14_000_000 // len(sentence)


# -- processes: kill -9, two writers, a full disk -----------------------------------------------


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    pairs = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in pairs if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process tree via /proc")
def test_kill_9_of_ingest_leaves_no_reader_running(project: Project, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(4):
        _wide_table(corpus / f"wide{i}.html", columns=60_000)
    cli = [sys.executable, "-m", "secprio", "ingest", str(corpus), "-p", str(project.root)]
    proc = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and not workers:  # a reader process
        time.sleep(0.2)
        workers = _children(proc.pid)
    assert workers, "no reader process started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)]


def test_a_second_writer_is_refused_clearly(coded: Project, tmp_path: Path) -> None:
    with coded.store.lock("a test"):
        res = CliRunner().invoke(app, ["code", "-p", str(coded.root)])
        assert res.exit_code == 2
        assert "another secprio process is writing" in res.output and "a test" in res.output
        # another Store on the project, as another process has (one Store's thread may nest)
        with pytest.raises(StoreError, match="ingest did not start"):
            Project.open(coded.root).ingest([tmp_path])
    assert coded.code().documents == 0  # the lock is free again; nothing was left to code


def test_two_code_processes_at_once_never_crash_or_duplicate(
    project: Project, tmp_path: Path, codebook_file: Path
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(60):
        (corpus / f"d{i}.txt").write_text(
            f"Document {i}. The states agreed on military cooperation. Terrorism is a threat.\n"
            * 20
        )
    project.ingest([corpus])
    cli = [sys.executable, "-m", "secprio", "code", "-p", str(project.root), "--batch", "5"]
    outcomes = []
    for _ in range(3):
        procs = [
            subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)
        ]
        outcomes += [(p.wait(), p.stdout.read() if p.stdout else "") for p in procs]
    for code, output in outcomes:
        assert code in (0, 2) and "Traceback" not in output, output
        if code == 2:
            assert "another secprio process is writing" in output
    assert any(code == 0 for code, _ in outcomes)
    assert project.code().documents == 0  # every document was coded by one of them
    codings = project.store.table("codings")
    assert not codings[["segment_id", "category", "coder"]].duplicated().any()
    clean = Project.init(tmp_path / "clean", codebook=codebook_file)
    clean.ingest([corpus])
    clean.code()
    assert len(codings) == len(clean.store.table("codings")) > 0
    done = project.store.table("run_documents")
    assert not done.duplicated().any() and done["document_id"].nunique() == 60


def _full_disk(kind: str, tmp_path: Path) -> Path:
    """A folder on a file system that is full after a few hundred kB."""
    folder = tmp_path / "small"
    folder.mkdir()
    if kind == "tmpfs":
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)])
        if done.returncode:
            pytest.skip("cannot mount a tmpfs here")
    return folder


@pytest.mark.parametrize("kind", ["tmpfs", "max_page_count"])
def test_a_full_disk_leaves_the_store_intact_and_says_so(
    kind: str, tmp_path: Path, codebook_file: Path
) -> None:
    folder = _full_disk(kind, tmp_path)
    try:
        project = Project.init(folder / "p", codebook=codebook_file)
        import sqlalchemy as sa

        def small(c: Any, _r: object) -> None:
            c.execute("PRAGMA max_page_count=60")

        if kind == "max_page_count":  # SQLite's own "disk is full", without root
            sa.event.listen(project.store.engine, "connect", small)
            project.store.engine.dispose()
        corpus = tmp_path / "c"
        corpus.mkdir()
        (corpus / "small.txt").write_text(GOOD, encoding="utf-8")
        project.ingest([corpus])
        (corpus / "large.txt").write_text(
            "".join(f"Sentence {i} of a long document on security. " for i in range(40_000))
        )
        with pytest.raises(StoreError) as err:
            project.ingest([corpus])
        assert "the disk is full" in str(err.value) and "the store is intact" in str(err.value)
        assert "run the same command again" in str(err.value)
        database = project.store.engine.url.database
        assert database is not None
        assert sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert len(project.documents()) == 1  # the first document is still there
        if kind == "tmpfs":  # the CLI says it too, without a traceback
            res = CliRunner().invoke(app, ["ingest", str(corpus), "-p", str(project.root)])
            assert res.exit_code == 2 and "the disk is full" in res.output, res.output
            assert "[E403]" in res.output
        # space freed: the same command completes, on the store the full disk left
        if kind == "tmpfs":
            subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True)
        else:
            sa.event.remove(project.store.engine, "connect", small)
        project.store.engine.dispose()
        result = project.ingest([corpus])
        assert [Path(p).name for p in result.added] == ["large.txt"], result
        assert len(project.documents()) == 2
        assert sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert project.code().documents == 2
    finally:
        if kind == "tmpfs":
            subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its file system refuses a byte more."""
    filler = folder / "filler"
    try:
        with filler.open("wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    return filler


def test_a_full_disk_during_a_file_write_says_so_and_leaves_the_old_file(
    coded: Project, tmp_path: Path
) -> None:
    folder = _full_disk("tmpfs", tmp_path)
    try:
        target = folder / "out.qdpx"
        export = ["export", str(target), "-p", str(coded.root)]
        assert CliRunner().invoke(app, export).exit_code == 0
        before = target.read_bytes()
        filler = _fill(folder)
        res = CliRunner().invoke(app, export)
        assert res.exit_code == 2, res.output
        assert "[E717]" in res.output and "the disk is full" in res.output, res.output
        assert "unexpected" not in res.output  # an error that says what happened, not a crash
        assert target.read_bytes() == before  # the previous export is intact
        assert sorted(p.name for p in folder.iterdir()) == ["filler", "out.qdpx"]  # no .tmp
        filler.unlink()  # space freed: the same command completes
        assert CliRunner().invoke(app, export).exit_code == 0
        assert sorted(p.name for p in folder.iterdir()) == ["out.qdpx"]
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
