"""Analysis commands, made from the analysis registry (``secprio.analyses``), and ``methods``.

Every analysis with a ``Cli`` becomes (part of) a command: its parameters are the command's
options (``--name``, or the flag the parameter names), with ``--csv`` and ``--json`` to write
the frame and ``-p`` for the project. Analyses that share a command are told apart by the
option each names as its ``when`` (``links --all``; ``compare --event`` / ``--by``).
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from secprio import files
from secprio.analyses.registry import REGISTRY, REQUIRED, Analysis, Data, Param, View
from secprio.cli.app import ProjectOption, app, choices, console, guard, open_project, out, warn
from secprio.cli.commands import COMMANDS
from secprio.display import DASH
from secprio.errors import DuplicateName

CsvOption = typer.Option(None, "--csv", help="Also write the table to this CSV file.")
JsonOption = typer.Option(None, "--json", help="Also write the table to this JSON file.")
RESERVED = ("csv", "json", "project")
_CHOICES: dict[tuple[str, tuple[str, ...]], type[enum.StrEnum]] = {}


def _save(df: pd.DataFrame, csv: Path | None, json: Path | None) -> None:
    if csv:
        files.write_csv(csv, df)
    if json:
        df.to_json(json, orient="records", force_ascii=False, indent=1)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*r)
    return t


def _print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    out.print(_table(title, columns, rows))


def _cell(x: object) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return DASH
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _frame_view(entry: Analysis) -> Callable[[View], None]:
    """The default terminal view: the frame as a table titled with the analysis's help."""

    def show(v: View) -> None:
        rows = [[_cell(x) for x in row] for row in v.frame.itertuples(index=False)]
        v.table(entry.help.split(". ")[0], [str(c) for c in v.frame.columns], rows)

    return show


def flag(p: Param) -> str:
    """The CLI flag of a parameter."""
    return p.flag or "--" + p.name.replace("_", "-")


def _choice(p: Param) -> type[enum.StrEnum]:
    key = (p.kind or p.name.title(), p.choices)
    if key not in _CHOICES:
        _CHOICES[key] = choices(*key)
    return _CHOICES[key]


def _parameter(p: Param, *, selector: bool) -> inspect.Parameter:
    """The Typer parameter of ``p`` (``selector``: the option that picks an analysis of a
    shared command, so it defaults to not given)."""
    kind: Any = _choice(p) if p.choices else p.type
    default = None if selector else (not p.default if p.negate else p.default)
    if p.choices and default is not None and default is not REQUIRED:
        default = kind(default)
    if p.argument:
        info: Any = typer.Argument(... if default is REQUIRED else default, help=p.help)
    else:
        decls = [p.flag] if p.flag else []
        info = typer.Option(... if default is REQUIRED else default, *decls, help=p.help)
    return inspect.Parameter(
        p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=info, annotation=kind
    )


def options(entries: list[Analysis]) -> dict[str, Param]:
    """The options of a command: every CLI parameter of its analyses and their views, the
    first definition of a name winning."""
    found: dict[str, Param] = {}
    for entry in entries:
        assert entry.cli is not None
        for p in (*entry.params, *entry.cli.view):
            if p.cli and p.name not in found:
                if p.name in RESERVED:
                    raise DuplicateName(
                        f"the analysis {entry.name!r} has a parameter {p.name!r}, which "
                        "every analysis command has already",
                        hint=f"rename the parameter (taken: {', '.join(RESERVED)})",
                        code="E018",
                    )
                found[p.name] = p
    return found


def _pick(command: str, entries: list[Analysis], values: Mapping[str, Any]) -> Analysis:
    """The analysis a command's options select."""
    for entry in entries:
        assert entry.cli is not None
        if entry.cli.when and values.get(entry.cli.when):
            return entry
    for entry in entries:
        assert entry.cli is not None
        if not entry.cli.when:
            return entry
    given = options(entries)
    ways = []
    for entry in entries:
        assert entry.cli is not None
        p = given[entry.cli.when]
        ways.append(f"{flag(p)} {p.metavar or p.name.upper()} ({entry.name})")
    console.print(f"[bold red]error[/] give {' or '.join(ways)}")
    raise typer.Exit(2)


def _callback(command: str, entries: list[Analysis]) -> Callable[..., None]:
    params = options(entries)
    selectors = {e.cli.when for e in entries if e.cli is not None and e.cli.when}

    def run(**kwargs: Any) -> None:
        csv, json, folder = (kwargs.pop(k) for k in RESERVED)
        values = {k: v.value if isinstance(v, enum.Enum) else v for k, v in kwargs.items()}
        for p in params.values():
            if p.negate:
                values[p.name] = not values[p.name]
        proj = open_project(folder)
        entry = _pick(command, entries, values)
        assert entry.cli is not None
        data = Data(proj)
        mine = {p.name: values[p.name] for p in entry.params if p.cli}
        df = guard(lambda: entry.run(data, mine))
        view = View(df, values, data, _print_table, out.print, console.print, warn)
        guard(lambda: (entry.cli.show or _frame_view(entry))(view))  # type: ignore[union-attr]
        _save(df, csv, json)

    signature = [_parameter(p, selector=p.name in selectors) for p in params.values()]
    signature += [
        inspect.Parameter("csv", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=CsvOption,
                          annotation=Path),
        inspect.Parameter("json", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=JsonOption,
                          annotation=Path),
        inspect.Parameter("project", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=ProjectOption, annotation=Path),
    ]  # fmt: skip
    run.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in signature}
    run.__name__ = run.__qualname__ = command.replace("-", "_")
    run.__module__ = __name__
    return run


def command_help(entries: list[Analysis]) -> str:
    """A command's one-line help: its analyses' ``Cli.help``, else the first's own help."""
    for entry in entries:
        if entry.cli is not None and entry.cli.help:
            return entry.cli.help
    return entries[0].help


def argv(entry: Analysis, given: Mapping[str, Any]) -> list[str]:
    """The command line that shows ``entry`` computed with the options ``given``."""
    assert entry.cli is not None, entry.name
    entries = REGISTRY.commands()[entry.cli.command]
    params = options(entries)
    words = [entry.cli.command]
    if entry.cli.when and entry.cli.when not in given:
        words.append(flag(params[entry.cli.when]))  # a view's switch (--all)
    for name, v in given.items():
        p = params.get(name)
        if p is None:
            raise ValueError(f"{entry.name}: the option {name!r} is not on the command line")
        if p.argument:
            words.append(str(v))
        elif p.type is bool:
            if bool(v) != bool(p.default):
                words.append(flag(p))
        else:
            words += [flag(p), str(v)]
    return words


def _register() -> None:
    for command, entries in REGISTRY.commands().items():
        owner = COMMANDS.get(command, ("analysis", ""))[0]
        if owner != "analysis":
            raise DuplicateName(
                f"the analysis {entries[0].name!r} runs as 'secprio {command}', a command of "
                f"secprio.cli.{owner}",
                hint="give the analysis's Cli another command",
                code="E019",
            )
        app.command(command, help=command_help(entries))(_callback(command, entries))


_register()


@app.command()
def methods(
    out_dir: Path = typer.Option(
        None, "--out", "-o", help="Also write methods.txt and codebook.md/.tex/.docx here."
    ),
    project: Path = ProjectOption,
) -> None:
    """A methods paragraph from the run's provenance, ready to paste, and the codebook appendix."""
    from secprio.report import methods as methods_mod  # python-docx: import on use

    proj = open_project(project)
    guard(lambda: proj.require_codings())
    typer.echo(guard(lambda: methods_mod.paragraph(proj)))
    if out_dir is not None:
        written = guard(lambda: methods_mod.write(proj, out_dir))
        console.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)
