"""The CLI's contract, for every command: a bad value or input exits 2 with a message that
names the input and the fix (choices listed), and no traceback reaches the user — an
unexpected error prints one line and the file its traceback was written to."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
import typer.main
from typer.testing import CliRunner

from secprio import __version__
from secprio.cli import app, load_all
from secprio.cli.app import Commands
from secprio.cli.commands import COMMANDS as TABLE
from secprio.config import SCALES
from secprio.measure import groups
from secprio.measure.compare import VALUES
from secprio.measure.links import UNITS
from secprio.project import Project

from .conftest import write_doc

RUN = CliRunner(env={"COLUMNS": "200"})  # tables unwrapped
CHOICES = {  # the annotation of a choice option -> the values it must list when refused
    "Grouping": groups.GROUPINGS,
    "Scale": SCALES,
    "Attribution": groups.ATTRIBUTIONS,
    "Unit": UNITS,
    "GridValue": VALUES,
}


def run(*args: str) -> tuple[int, str]:
    """Exit status and output; the output of click's boxed errors as one plain line."""
    res = RUN.invoke(app, list(args), catch_exceptions=False)
    assert "Traceback" not in res.output, res.output
    text = res.output
    if "╭─ Error" in text:
        text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())
    return res.exit_code, text


def _commands() -> dict[str, inspect.Signature]:
    return {
        c.name or c.callback.__name__.replace("_", "-"): inspect.signature(c.callback)
        for c in app.registered_commands
        if c.callback is not None
    }


def _options(sig: inspect.Signature) -> list[tuple[str, str]]:
    """(first flag, annotation) of every option of a command."""
    out = []
    for p in sig.parameters.values():
        info = p.default
        if isinstance(info, typer.models.OptionInfo):
            decls = [d for d in info.param_decls or () if d.startswith("--")]
            flag = decls[0] if decls else "--" + p.name.replace("_", "-")
            kind = p.annotation  # a name (a module's annotation) or the type (a made command)
            out.append((flag, kind if isinstance(kind, str) else kind.__name__))
    return out


def _required(sig: inspect.Signature) -> list[str]:
    """Placeholder values for the required arguments of a command."""
    return [
        "x"
        for p in sig.parameters.values()
        if isinstance(p.default, typer.models.ArgumentInfo) and p.default.default is ...
    ]


load_all()
COMMANDS = _commands()


def test_the_contract_covers_every_command() -> None:
    assert len(COMMANDS) >= 19
    assert {"status", "score", "report", "compare", "import-qdpx"} <= set(COMMANDS)
    assert app.info.cls is Commands  # every command runs inside Commands.invoke


def test_the_lazy_table_lists_every_command_with_its_own_help() -> None:
    """``secprio --help`` reads commands.py; it must say what the modules register."""
    group = typer.main.get_command(app)
    real = {
        name: " ".join((cmd.help or "").strip().split("\n\n")[0].split())
        for name, cmd in group.commands.items()  # type: ignore[attr-defined]
    }
    assert {name: text for name, (_, text) in TABLE.items()} == real
    modules = {c.callback.__module__ for c in app.registered_commands if c.callback}
    assert {f"secprio.cli.{module}" for module, _ in TABLE.values()} >= modules


def test_help_lists_every_command_without_loading_the_heavy_stack() -> None:
    code = (
        "import sys\n"
        "from secprio.cli import app\n"
        "from typer.testing import CliRunner\n"
        "res = CliRunner().invoke(app, ['--help'], terminal_width=200)\n"
        "print(res.exit_code)\n"
        "print(res.output)\n"
        "print('HEAVY', sorted(m for m in ('pandas', 'sqlalchemy', 'sklearn', 'scipy') "
        "if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.startswith("0\n")
    assert "HEAVY []" in res.stdout
    for name in TABLE:
        assert f" {name} " in res.stdout, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_bad_option_values_exit_2_and_list_the_choices(name: str, tmp_path: Path) -> None:
    sig = COMMANDS[name]
    checked = 0
    for flag, kind in _options(sig):
        if kind in CHOICES:
            bad = "bogus"
        elif kind in ("int", "float"):
            bad = "not-a-number"
        else:
            continue
        code, text = run(name, *_required(sig), flag, bad, "-p", str(tmp_path))
        assert code == 2, (name, flag, text)
        assert flag in text and "Invalid value" in text, (name, flag, text)
        for choice in CHOICES.get(kind, ()):
            assert choice in text, (name, flag, choice, text)
        checked += 1
    if name in ("score", "compare", "links", "validate", "trends", "fetch"):
        assert checked, f"{name} has options with fixed values or numbers"


@pytest.mark.parametrize("name", sorted(n for n in COMMANDS if n not in ("init", "demo")))
def test_every_command_outside_a_project_says_how_to_start(name: str, tmp_path: Path) -> None:
    args = [str(tmp_path / "in.csv") if a == "x" else a for a in _required(COMMANDS[name])]
    code, text = run(name, *args, "-p", str(tmp_path / "nowhere"))
    assert code == 2, text
    assert "nowhere" in text and ("secprio init" in text or "fix:" in text), text


def test_version() -> None:
    code, text = run("--version")
    assert code == 0 and text.strip() == f"secprio {__version__}"


@pytest.fixture
def proj(coded: Project) -> str:
    return str(coded.root)


BAD_INPUTS = [
    (("ingest", "{p}", "wrong/path"), "wrong/path: no such file or folder"),
    (("import-qdpx", "{p}", "missing.qdpx"), "missing.qdpx: the REFI-QDA project does not exist"),
    (("import-gold", "{p}", "missing.csv"), "missing.csv: the gold file does not exist"),
    (("validate", "{p}", "missing.csv"), "missing.csv"),
    (("claims", "{p}", "missing.yaml"), "no claims file"),
    (("expert", "{p}", "--file", "missing.yaml"), "no expert file"),
    (("timeline", "{p}", "--file", "missing.yaml"), "no events file"),
    (("fetch", "{p}", "missing.csv"), "missing.csv"),
    (("export", "{p}", "out.txt"), "name the file .qdpx or .qdc"),
    (("compare", "{p}"), "give --event ID"),
    (("compare", "{p}", "--event", "no-such-event"), "no events file"),
    (("compare", "{p}", "--event", "2020-01-01", "--before", "ten years"), "2y, 18m, 6w or 90d"),
    (("code", "{p}", "--coder", "bogus"), "use one of: auto, dictionary"),
    (("demo", "--pack", "bogus", "--out", "{tmp}"), "bundled packs: ots"),
    (("init", "{tmp}/new", "--codebook", "missing.yaml"), "missing.yaml"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUTS, ids=[a[0][0] for a in BAD_INPUTS])
def test_bad_inputs_exit_2_with_the_input_and_a_fix(
    args: tuple[str, ...], expected: str, proj: str, tmp_path: Path
) -> None:
    argv = []
    for a in args:
        argv += ["-p", proj] if a == "{p}" else [a.replace("{tmp}", str(tmp_path))]
    code, text = run(*argv)
    assert code == 2, text
    assert expected in text, text
    assert "fix:" in text or "Invalid value" in text or "give --event" in text, text


def test_an_unexpected_error_prints_one_line_and_where_the_traceback_is(
    proj: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECPRIO_TRACEBACKS", str(tmp_path / "tb"))
    copy = tmp_path / "copy"  # a folder of its own: no connection of the fixture is reused
    shutil.copytree(proj, copy, ignore=shutil.ignore_patterns("*.db*"))
    (copy / "secprio.db").write_bytes(b"this is not a SQLite database" * 100)
    code, text = run("score", "-p", str(copy))
    assert code == 2
    assert "error unexpected" in text and len(text.strip().splitlines()) <= 3, text
    written = list((tmp_path / "tb").glob("traceback-*.txt"))
    assert len(written) == 1 and str(written[0]) in text
    assert "Traceback (most recent call last)" in written[0].read_text(encoding="utf-8")


def test_score_and_report_before_code_say_to_run_code(project: Project, corpus: Path) -> None:
    project.ingest([corpus])
    for args in (("score",), ("report", "--out", str(project.root / "r")), ("trends",)):
        code, text = run(*args, "-p", str(project.root))
        assert code == 2 and "nothing is coded" in text, text
        assert f"secprio code -p {project.root}" in text, text


def test_codings_of_another_codebook_version_are_refused(coded: Project) -> None:
    root = str(coded.root)
    before = pd.read_csv(_csv(root, "before"))
    book = coded.root / coded.settings.codebook
    old = '["military cooperation", "joint exercise*"]'
    book.write_text(book.read_text().replace(old, '["trade"]'), encoding="utf-8")
    code, text = run("score", "-p", root)
    assert code == 2 and "the codebook changed" in text and "secprio code" in text, text
    assert run("code", "-p", root)[0] == 0
    after = pd.read_csv(_csv(root, "after")).set_index("category")
    # the new pattern only: "Trade grew fast" is the one military cooperation sentence now
    assert after.loc["military_cooperation", "n_coded"] == 1
    assert before.set_index("category").loc["military_cooperation", "n_coded"] == 3
    assert "secprio code" not in run("score", "-p", root)[1]


def _csv(root: str, name: str) -> Path:
    path = Path(root) / f"{name}.csv"
    assert run("score", "-p", root, "--csv", str(path))[0] == 0
    return path


def test_documents_ingested_after_coding_are_flagged(coded: Project, tmp_path: Path) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    write_doc(folder, "d.md", "2023-01-01", "news", "TR", "en", ["Military cooperation."])
    run("ingest", "-p", str(coded.root), str(folder))
    code, text = run("score", "-p", str(coded.root))
    assert code == 0
    assert "1 of 4 document(s) are not coded by dictionary" in text, text


def test_status_lists_documents_runs_coders_and_codings(coded: Project) -> None:
    code, text = run("status", "-p", str(coded.root), "--documents", "--runs")
    assert code == 0
    assert re.search(r"│ 1\s*│ code\s*│ dictionary .*│ current\s*│ complete", text), text
    assert "documents: 3 (2019-05-01 … 2022-06-10; 0 undated)" in text, text
    assert re.search(r"dictionary\s*│\s*machine\s*│\s*1\s*│\s*\d+\s*│\s*3 of 3", text), text
    for name in ("a.md", "b.md", "c.md"):
        assert name in text


def test_one_document_frames_are_insufficient_and_uncoded_ones_no_evidence(
    coded: Project, tmp_path: Path
) -> None:
    path = tmp_path / "y.csv"
    code, text = run("score", "-p", str(coded.root), "--by", "year", "--csv", str(path))
    assert code == 0 and "insufficient (1/1 docs)" in text and "no evidence" in text, text
    df = pd.read_csv(path)
    assert set(df["evidence"]) <= {"insufficient", "no evidence"}  # one document per year
    none = df[df["evidence"] == "no evidence"]
    assert len(none) and (none["n_coded"] == 0).all() and none["score"].isna().all()


def test_member_attribution_rules(tmp_path: Path, codebook_file: Path) -> None:
    """Two documents: one issued by TR listing AZ and TR, one issued by the organization
    listing AZ, KZ and TR. The rules give different, documented rows."""
    folder = tmp_path / "docs"
    folder.mkdir()
    write_doc(folder, "tr.md", "2020-01-01", "speech", "TR", "en", ["Military cooperation."])
    write_doc(folder, "ots.md", "2021-01-01", "declaration", "OTS", "en", ["Terrorism."])
    (folder / "ots.md").write_text(
        (folder / "ots.md").read_text().replace("[AZ, TR]", "[AZ, KZ, TR]"), encoding="utf-8"
    )
    p = Project.init(tmp_path / "p", codebook=codebook_file)
    p.ingest([folder])
    p.code()
    rows = {}
    for rule in groups.ATTRIBUTIONS:
        g = pd.read_csv(_grid(str(p.root), rule, tmp_path)).drop_duplicates("group")
        rows[rule] = dict(zip(g["group"], g["n_sentences"], strict=True))
    assert rows["issuer"] == {"TR": 1}
    assert rows["every"] == {"AZ": 2, "KZ": 1, "TR": 2}
    assert rows["fractional"] == pytest.approx(
        {"AZ": 0.5 + 1 / 3, "KZ": 1 / 3, "TR": 0.5 + 1 / 3}, abs=0.01
    )


def _grid(root: str, rule: str, tmp: Path) -> Path:
    path = tmp / f"{rule}.csv"
    code, text = run("compare", "-p", root, "--by", "members", "--attribution", rule,
                     "--csv", str(path))  # fmt: skip
    assert code == 0 and f"rule '{rule}'" in text, text
    return path


def test_metadata_warnings_name_the_file_and_the_fix(tmp_path: Path, codebook_file: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "bare.txt").write_text("Military cooperation was agreed.\n", encoding="utf-8")
    write_doc(folder, "odd.md", "2099-01-01", "news", "QQ", "en", ["Terrorism."])
    p = Project.init(tmp_path / "p", codebook=codebook_file)
    code, text = run("ingest", "-p", str(p.root), str(folder))
    assert code == 0 and "metadata warnings 3" in text, text
    assert f"{folder / 'bare.txt'}: no metadata" in text and "fix: write bare.yaml" in text
    assert f"{folder / 'odd.md'}: date 2099-01-01 is out of range" in text
    assert "QQ is not ISO 3166" in text
    p.code()
    out = tmp_path / "r"
    assert run("report", "-p", str(p.root), "--out", str(out))[0] == 0
    warnings = pd.read_csv(out / "warnings.csv")
    assert len(warnings) == 3 and warnings["warning"].str.contains("fix:").all()
    assert "3 metadata warning(s)" in (out / "report.html").read_text(encoding="utf-8")


def test_an_empty_case_window_prints_dashes_not_nan(proj: str) -> None:
    code, text = run("compare", "-p", proj, "--event", "1990-01-01")
    assert code == 0 and "nan" not in text.lower() and "—" in text
    assert "before window has 0 document(s)" in text


def test_reimporting_our_own_export_says_why_nothing_was_stored(proj: str, tmp_path: Path) -> None:
    target = tmp_path / "x.qdpx"
    assert run("export", "-p", proj, str(target))[0] == 0
    code, text = run("import-qdpx", "-p", proj, str(target))
    assert code in (0, 2)  # nothing to import: a note, or an error with its fix
    assert "by nobody" not in text and "machine codings" in text, text
