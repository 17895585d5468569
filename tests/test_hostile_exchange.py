"""Hostile shared files: a .qdpx, a gold file or a codebook from a colleague is untrusted.

Every test builds its hostile input itself and runs the real importer (and the CLI where a user
would meet the result): the outcome is a clear error with exit status 2, or a bounded,
correct import, and nothing is written outside the project.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secprio.cli import app
from secprio.exchange import ExchangeError
from secprio.exchange.limits import ImportLimits
from secprio.exchange.qdpx import export_project, import_qdpx, read_qdpx
from secprio.project import Project

USER = "11111111-1111-1111-1111-111111111111"
CODE = "22222222-2222-2222-2222-222222222222"
TEXT = "The states agreed on military cooperation. Trade grew fast.\n"


def qde(sources: str, *, doctype: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>' + doctype + "\n"
        '<Project xmlns="urn:QDA-XML:project:1.0" name="shared" origin="a QDA tool">'
        f'<Users><User guid="{USER}" name="Cem"/></Users>'
        f'<CodeBook><Codes><Code guid="{CODE}" name="Military cooperation" isCodable="true"/>'
        f"</Codes></CodeBook><Sources>{sources}</Sources></Project>"
    )


def source(guid: str, name: str, *, start: object = 0, end: object = 41, n: int = 1) -> str:
    sels = "".join(
        f'<PlainTextSelection guid="sel-{guid}-{i}" startPosition="{start}" '
        f'endPosition="{end}" creatingUser="{USER}"><Coding guid="c-{guid}-{i}" '
        f'creatingUser="{USER}"><CodeRef targetGUID="{CODE}"/></Coding></PlainTextSelection>'
        for i in range(n)
    )
    return (
        f'<TextSource guid="{guid}" name="{name}" plainTextPath="internal://{guid}.txt">'
        f"{sels}</TextSource>"
    )


def archive(path: Path, project_xml: str, texts: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", project_xml)
        for guid, text in texts.items():
            zf.writestr(f"sources/{guid}.txt", text)
    return path


def cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, " ".join(res.output.split())


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


# -- paths -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("guid", "name"),
    [
        ("aaaa", "../../victim.txt"),
        ("bbbb", "..\\..\\victim.txt"),
        ("../../../victim", ""),
        ("cccc", "/tmp/secprio-absolute-victim.txt"),
        ("dddd", "sub/../../../victim"),
    ],
)
def test_a_source_name_or_guid_never_writes_outside_the_project(
    project: Project, tmp_path: Path, guid: str, name: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    outside_before = files_under(tmp_path) - files_under(project.root)
    path = archive(tmp_path / "evil.qdpx", qde(source(guid, name)), {guid.split("/")[-1]: TEXT})
    result = import_qdpx(project, path)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not Path("/tmp/secprio-absolute-victim.txt").exists()
    written = [Path(p) for p in result.ingested]
    assert written and all(p.parent == project.root / "imported" for p in written)
    outside_after = files_under(tmp_path) - files_under(project.root)
    assert outside_after == outside_before | {path}
    assert result.codings == 1 and result.coders == ["Cem"]


def test_a_link_planted_in_imported_is_replaced_not_written_through(
    project: Project, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    (project.root / "imported").mkdir()
    (project.root / "imported" / "notes.txt").symlink_to(victim)
    path = archive(tmp_path / "p.qdpx", qde(source("g1", "notes.txt")), {"g1": TEXT})
    import_qdpx(project, path)
    assert victim.read_text(encoding="utf-8") == "keep me"


def test_imported_folder_that_is_a_link_is_refused(project: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project.root / "imported").symlink_to(elsewhere)
    path = archive(tmp_path / "p.qdpx", qde(source("g1", "notes.txt")), {"g1": TEXT})
    code, out = cli("import-qdpx", str(path), "-p", str(project.root))
    assert code == 2 and "imported/ is not a folder" in out
    assert list(elsewhere.iterdir()) == []


# -- malformed archives ----------------------------------------------------------------------
def _patch_headers(path: Path, *, local: int, central: int, value: int) -> None:
    """Overwrite a 2-byte field of every member's local and central header."""
    data = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        i = data.find(sig)
        while i >= 0:
            data[i + at : i + at + 2] = value.to_bytes(2, "little")
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("offset", "startPosition='12.5', not a whole number"),
        ("backwards", "ends (3) before it starts (30)"),
        ("latin1", "is not UTF-8 text"),
        ("encrypted", "is encrypted"),
        ("method", "compression method 99"),
        ("dtd", "not REFI-QDA XML"),
        ("encoding", "unknown encoding"),  # a fuzzing find: LookupError from the parser
        ("truncated", "not a readable REFI-QDA project"),
        ("name", "not a readable REFI-QDA project"),  # fuzzing: a name that is not UTF-8
        ("missing", "nothing to import"),
        ("empty", "no coded text selections"),
    ],
)
def test_malformed_project_is_a_clear_error_with_status_2(
    project: Project, tmp_path: Path, case: str, message: str
) -> None:
    path = tmp_path / f"{case}.qdpx"
    texts: dict[str, bytes | str] = {"g1": TEXT}
    xml = qde(source("g1", "a"))
    if case == "offset":
        xml = qde(source("g1", "a", start="12.5"))
    elif case == "backwards":
        xml = qde(source("g1", "a", start=30, end=3))
    elif case == "latin1":
        texts = {"g1": "Türkiye çok".encode("latin-1")}
    elif case == "dtd":
        xml = qde(source("g1", "&x;"), doctype='<!DOCTYPE Project [<!ENTITY x "y">]>')
    elif case == "encoding":
        xml = xml.replace('encoding="utf-8"', 'encoding="u4f-8"')
    elif case == "missing":
        texts = {}
    elif case == "empty":
        xml = qde('<TextSource guid="g1" name="a" plainTextPath="internal://g1.txt"/>')
    archive(path, xml, texts)
    if case == "encrypted":  # the general-purpose flag's bit 0
        _patch_headers(path, local=6, central=8, value=0x1)
    elif case == "method":
        _patch_headers(path, local=8, central=10, value=99)
    elif case == "truncated":
        path.write_bytes(path.read_bytes()[:-30])
    elif case == "name":  # flagged as UTF-8 (bit 11), spelled in bytes that are not
        _patch_headers(path, local=6, central=8, value=0x800)
        path.write_bytes(path.read_bytes().replace(b"sources/g1", b"sources/\xa6\xa6"))
    code, out = cli("import-qdpx", str(path), "-p", str(project.root))
    assert code == 2, out
    assert message in out and str(path.name) in out
    assert "Traceback" not in out


def test_billion_laughs_is_refused_without_expanding(project: Project, tmp_path: Path) -> None:
    entities = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    xml = qde(source("g1", "&l9;"), doctype=f"<!DOCTYPE Project [{entities}]>")
    path = archive(tmp_path / "laughs.qdpx", xml, {"g1": TEXT})
    with pytest.raises(ExchangeError, match="without a DTD"):
        read_qdpx(path)


def test_a_zip_bomb_member_stops_at_the_limit(project: Project, tmp_path: Path) -> None:
    bomb = "a" * (8 << 20)  # 8 MiB of one letter: deflates to a few kilobytes
    path = archive(tmp_path / "bomb.qdpx", qde(source("g1", "a")), {"g1": bomb})
    assert path.stat().st_size < 100_000
    with pytest.raises(ExchangeError, match="unpacks to more than 1 MiB"):
        read_qdpx(path, limits=ImportLimits(member_bytes=1 << 20))


def test_too_many_selections_stop_at_the_limit(project: Project, tmp_path: Path) -> None:
    path = archive(tmp_path / "many.qdpx", qde(source("g1", "a", n=50)), {"g1": TEXT})
    with pytest.raises(ExchangeError, match="coded selections: more than 20"):
        read_qdpx(path, limits=ImportLimits(selections=20))
    assert len(read_qdpx(path).codings) == 50


# -- nothing lost ----------------------------------------------------------------------------
def test_a_later_project_with_a_same_named_source_keeps_the_earlier_one(
    project: Project, tmp_path: Path
) -> None:
    first = archive(tmp_path / "one.qdpx", qde(source("g1", "interview.txt")), {"g1": TEXT})
    other = "Border security was the topic. Energy security was not.\n"
    xml = qde(source("g2", "interview.txt")).replace('name="Cem"', 'name="Dana"')
    second = archive(tmp_path / "two.qdpx", xml, {"g2": other})
    import_qdpx(project, first)
    import_qdpx(project, second)
    docs = project.documents()
    assert len(docs) == 2
    human = project.codings(human=True).query("source == 'human'")
    assert sorted(human["coder"]) == ["Cem", "Dana"]
    texts = set(project.sentences(text=True).loc[lambda d: d["segment_id"].isin(
        human["segment_id"]), "text"])  # fmt: skip
    assert texts == {"The states agreed on military cooperation.", "Border security was the topic."}
    # importing the first again finds its document: no third copy, no second coding
    import_qdpx(project, first)
    assert len(project.documents()) == 2


EXPORT_SCRIPT = textwrap.dedent("""\
    import sys
    from secprio.exchange.qdpx import export_project
    from secprio.project import Project
    project = Project.open(sys.argv[1])
    print("start", flush=True)
    export_project(project, sys.argv[2])
    print("done", flush=True)
""")


def test_a_killed_export_leaves_the_previous_file_intact(project: Project, tmp_path: Path) -> None:
    corpus = tmp_path / "big"
    corpus.mkdir()
    rng = random.Random(3)
    words = ["military", "cooperation", "trade", "border", "energy", "summit", "states"]
    for i in range(6):
        body = "\n\n".join(
            " ".join(rng.choice(words) for _ in range(12)).capitalize() + "." for _ in range(9000)
        )
        (corpus / f"d{i}.txt").write_text(body, encoding="utf-8")
    project.ingest([corpus])
    target = tmp_path / "shared.qdpx"
    export_project(project, target)
    good = {s.name: s.text for s in read_qdpx(target).sources.values()}
    script = tmp_path / "export.py"
    script.write_text(EXPORT_SCRIPT, encoding="utf-8")
    killed = 0
    for trial in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(project.root), str(target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
        time.sleep(0.05 + 0.1 * trial)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        # a whole archive, the previous one or (killed after the rename) the new one
        with zipfile.ZipFile(target) as zf:
            assert zf.testzip() is None
        assert {s.name: s.text for s in read_qdpx(target).sources.values()} == good
    assert killed >= 1


# -- codebooks: every field of a shared codebook is untrusted ---------------------------------
BOOK = """\
name: shared
version: "1"
categories:
  - id: military_cooperation
    kind: priority
    label: Military cooperation
    definition: Joint defence activity.
    patterns:
      en: [{patterns}]
"""


def book(tmp_path: Path, patterns: str, name: str = "book.yaml") -> Path:
    path = tmp_path / name
    path.write_text(BOOK.format(patterns=patterns), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "regex",
    [
        "(a+)+$",  # exponential: a repeat inside a repeat
        "(?:x|\\\\w*)*y",  # the same, through alternatives
        "\\\\w*\\\\w*\\\\w*\\\\w*\\\\w*x",  # polynomial, caught by the probe
    ],
)
def test_a_regex_that_backtracks_is_refused_by_validate_and_by_code(
    project: Project, corpus: Path, tmp_path: Path, regex: str
) -> None:
    path = book(tmp_path, f'"military cooperation", "re:{regex}"')
    code, out = cli("validate", str(path))
    assert code != 0 and "can backtrack for too long" in out, out
    (project.root / project.settings.codebook).write_text(path.read_text("utf-8"), "utf-8")
    project.ingest([corpus])
    started = time.monotonic()
    code, out = cli("code", "-p", str(project.root))
    assert code == 2 and "can backtrack for too long" in out, out
    assert time.monotonic() - started < 60


def test_the_match_deadline_interrupts_a_runaway_regex() -> None:
    import re

    from secprio.codebook.pattern import PatternTimeout, deadline

    slow = re.compile("(a+)+$")
    started = time.thread_time()
    with pytest.raises(PatternTimeout), deadline(0.3):
        slow.match("a" * 40 + "!")  # 2**40 ways to fail: hours without the deadline
    assert time.thread_time() - started < 3  # CPU seconds, however loaded the machine
    with deadline(0.3) as clock:  # a clock restarted before each match bounds each match
        for _ in range(8):
            assert clock is not None
            clock.restart()
            time.sleep(0.05)
            slow.match("a" * 12 + "!")


def test_a_runaway_regex_after_many_restarts_is_still_interrupted() -> None:
    """``restart`` only counts restarts (a coder makes hundreds of thousands); the alarm that
    sees a count unchanged since the one before measures from there."""
    import re

    from secprio.codebook.pattern import PatternTimeout, deadline

    slow = re.compile("(a+)+$")
    started = time.thread_time()
    with pytest.raises(PatternTimeout), deadline(0.3) as clock:
        assert clock is not None
        for _ in range(100_000):
            clock.restart()
        slow.match("a" * 40 + "!")
    assert time.thread_time() - started < 3


def test_a_busy_machine_does_not_make_a_fast_regex_time_out() -> None:
    """The bound is the regex's CPU time: time the process spends waiting for a CPU (here,
    asleep) is not counted, so a codebook is not refused on a loaded laptop or CI runner."""
    from secprio.codebook.pattern import deadline

    with deadline(0.2):
        time.sleep(0.6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
            "anchors (&name) are not allowed",
        ),
        ("name: x\ncategories: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than"),
        ("name: x\ncategories: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested deeper than"),
        ("name: \x00\n", "not valid YAML"),
    ],
)
def test_hostile_codebook_yaml_is_a_clear_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    code, out = cli("validate", str(path))
    assert code != 0 and message in out and "Traceback" not in out, out
    assert time.monotonic() - started < 30


def test_a_codebook_of_30000_patterns_is_refused_before_compiling(tmp_path: Path) -> None:
    patterns = ", ".join(f'"re:word{i}\\\\b"' for i in range(30_000))
    path = book(tmp_path, patterns)
    started = time.monotonic()
    code, out = cli("validate", str(path))
    assert code != 0 and "the codebook has 30,000 patterns" in out
    assert time.monotonic() - started < 60


def test_a_2000_character_pattern_is_refused(tmp_path: Path) -> None:
    code, out = cli("validate", str(book(tmp_path, '"' + "a" * 2000 + '"')))
    assert code != 0 and "2,000 characters long" in out


# -- gold files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "latin1.csv",
            "text,category\nT\xfcrkiye,military_cooperation\n".encode("latin-1"),
            "not UTF-8 text",
        ),
        (
            "field.csv",
            b"text,category\n" + b"a" * 200_000 + b",military_cooperation\n",
            "not readable as CSV",
        ),
        ("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
        (
            "latin1.jsonl",
            '{"text": "T\xfcrkiye", "category": ""}\n'.encode("latin-1"),
            "not UTF-8 text",
        ),
    ],
)
def test_hostile_gold_file_is_a_clear_error(
    coded: Project, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out = cli("import-gold", str(path), "-p", str(coded.root))
    assert code == 2 and message in out and "Traceback" not in out, out


def test_gold_row_limit(coded: Project, tmp_path: Path) -> None:
    from secprio.exchange import gold

    path = tmp_path / "many.csv"
    path.write_text(
        "text,category\n" + "".join(f"Sentence {i}.,\n" for i in range(30)), encoding="utf-8"
    )
    with pytest.raises(ExchangeError, match="gold rows: more than 10"):
        gold.read(path, limits=ImportLimits(gold_rows=10))


def test_import_limits_are_settings(project: Project, tmp_path: Path) -> None:
    settings = project.root / "secprio.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "imports:" in text and "selections: 1000000" in text
    settings.write_text(text.replace("selections: 1000000", "selections: 20"), encoding="utf-8")
    path = archive(tmp_path / "many.qdpx", qde(source("g1", "a", n=50)), {"g1": TEXT})
    code, out = cli("import-qdpx", str(path), "-p", str(project.root))
    assert code == 2 and "more than 20" in out and "imports.selections" in out
    settings.write_text(text.replace("selections: 1000000", "selections: lots"), "utf-8")
    code, out = cli("import-qdpx", str(path), "-p", str(project.root))
    assert code == 2 and "imports.selections is 'lots'" in out
