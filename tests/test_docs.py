"""The documentation is checked like code (as sqlite-utils and datasette do): every command and
option that README.md and docs/ show exists, every setting they show is one the loader
accepts, and the README's walk-through runs as written on a real project."""

from __future__ import annotations

import inspect
import re
import shlex
from dataclasses import fields
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from secprio import config
from secprio.cli import app, load_all
from secprio.codebook.load import load as load_codebook

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = CliRunner(env={"COLUMNS": "200"})
load_all()
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
INLINE = re.compile(r"`(secprio [^`]+)`")


def _flags() -> dict[str, set[str]]:
    """Every command and the flags it accepts (from the functions Typer registered); a
    command of a group (``secprio user add``) under "group command"."""
    commands = [("", c) for c in app.registered_commands] + [
        (f"{g.name} ", c)
        for g in app.registered_groups
        if g.typer_instance is not None
        for c in g.typer_instance.registered_commands
    ]
    out = {}
    for prefix, c in commands:
        if c.callback is None:
            continue
        flags = {"--help"}
        for p in inspect.signature(c.callback).parameters.values():
            info = p.default
            if isinstance(info, typer.models.OptionInfo):
                decls = list(info.param_decls or ()) or ["--" + p.name.replace("_", "-")]
                flags |= {d for d in decls if d.startswith("-")}
        out[prefix + (c.name or c.callback.__name__.replace("_", "-"))] = flags
    return out


FLAGS = _flags()


def _shown() -> list[tuple[str, str]]:
    """(file, command line) of every secprio command in a code block or inline code."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for _, body in FENCE.findall(text):
            found += [(doc.name, line.strip()) for line in body.splitlines()
                      if line.strip().startswith("secprio ")]  # fmt: skip
        found += [(doc.name, m) for m in INLINE.findall(FENCE.sub("", text))]
    return found


SHOWN = _shown()


def test_the_docs_show_many_commands() -> None:
    assert len(SHOWN) >= 30
    assert {line.split()[1] for _, line in SHOWN} >= {"init", "ingest", "score", "status"}


@pytest.mark.parametrize(("doc", "line"), SHOWN, ids=[f"{d}:{x[:40]}" for d, x in SHOWN])
def test_every_command_and_option_shown_exists(doc: str, line: str) -> None:
    words = line.split("#")[0].replace("\\|", "|").split()
    if words[1].startswith("--"):  # secprio --version
        assert words[1] in ("--version", "--help"), line
        return
    if f"{words[1]} {words[2] if len(words) > 2 else ''}" in FLAGS:  # a group's command
        words = [words[0], f"{words[1]} {words[2]}", *words[3:]]
    assert words[1] in FLAGS, f"{doc}: `{line}` names no secprio command"
    for w in words[2:]:
        flag = w.strip("[]").split("=")[0]
        if flag.startswith("-") and flag != "-":
            assert flag in FLAGS[words[1]], f"{doc}: `{line}`: {words[1]} has no option {flag}"


def _settings_blocks() -> list[str]:
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    return [b for lang, b in FENCE.findall(text) if lang == "yaml" and "measure:" in b]


def test_the_settings_shown_in_formats_md_load(tmp_path: Path) -> None:
    blocks = _settings_blocks()
    assert blocks, "docs/formats.md shows secprio.yaml"
    for block in blocks:
        path = tmp_path / config.CONFIG_NAME
        path.write_text(block, encoding="utf-8")
        settings = config.load(path)  # an unknown setting (say `unit:`) would raise here
        assert settings.measure.scale in config.SCALES


def test_every_measure_setting_named_in_the_docs_exists() -> None:
    known = {f.name for f in fields(config.MeasureSettings)}
    named = {
        m
        for doc in DOCS
        for m in re.findall(r"`measure\.([a-z_]+)", doc.read_text(encoding="utf-8"))
    }
    assert named and named <= known, named - known


def test_the_codebook_shown_in_formats_md_loads(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    block = next(b for lang, b in FENCE.findall(text) if lang == "yaml" and "categories:" in b)
    path = tmp_path / "codebook.yaml"
    path.write_text(block, encoding="utf-8")
    assert load_codebook(path).ids() == ["military_cooperation"]


def test_the_metadata_shown_in_formats_md_has_only_known_fields() -> None:
    from secprio.ingest.metadata import FIELDS

    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    block = next(b for lang, b in FENCE.findall(text) if lang == "yaml" and "doc_type:" in b)
    meta = yaml.safe_load(block)
    assert set(FIELDS) <= set(meta)


def _walkthrough() -> list[list[str]]:
    """The README's commands in order: the block that starts with `secprio init`, then the
    analyses block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [
        line.split("  #")[0].strip()
        for lang, body in FENCE.findall(text)
        if lang == "bash" and "-p mystudy" in body
        for line in body.splitlines()
        if line.strip().startswith("secprio ")
    ]
    return [shlex.split(line)[1:] for line in lines]


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path, corpus: Path) -> None:
    """Every README command on a real project (the OTS pack's codebook and context, the test
    corpus): only paths change. `init mystudy` and `init --pack` are alternatives, so the
    second runs in another folder; `fetch` needs the network and is checked above only."""
    steps = _walkthrough()
    assert len(steps) >= 12
    names = [s[0] for s in steps]
    assert names[:2] == ["init", "init"] and "report" in names and "compare" in names

    def place(arg: str) -> str:
        return {"mystudy": str(tmp_path / "mystudy"), "docs/": str(corpus),
                "out/": str(tmp_path / "out")}.get(arg, arg)  # fmt: skip

    res = RUN.invoke(app, ["init", str(tmp_path / "plain")])
    assert res.exit_code == 0, res.output
    for step in steps[1:]:
        if step[0] == "fetch":
            continue
        res = RUN.invoke(app, [place(a) for a in step])
        assert res.exit_code == 0, (step, res.output)
        assert "Traceback" not in res.output
        if step[0] == "init":  # keep the walk-through fast: fewer bootstrap replicates
            cfg = tmp_path / "mystudy" / config.CONFIG_NAME
            cfg.write_text(cfg.read_text().replace("bootstrap: 1000", "bootstrap: 50"))
    assert (tmp_path / "out" / "report.html").is_file()
