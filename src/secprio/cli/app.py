"""The Typer app, the Rich console and helpers every command module shares.

The CLI's contract lives here, in one place (``Commands.invoke``): an error secprio raises on
purpose (``SecprioError``) prints its message, naming the input and the fix, and exits 2; any
other exception prints one short line and the file its full traceback was written to, and
exits 2 as well — no traceback reaches a user. Bad option values are refused by the parser
with the valid choices (``choices``), also with exit status 2.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import os
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, overload

import typer
import typer.main
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperCommand, TyperGroup

from secprio import __version__
from secprio.cli.commands import COMMANDS
from secprio.errors import SecprioError

if TYPE_CHECKING:
    from secprio.project import Project

console = Console(stderr=True, soft_wrap=True)  # paths and fixes stay on one line
out = Console()

T = TypeVar("T")
EXIT_ERROR = 2  # bad input, or an unexpected error (its traceback is written to a file)
EXIT_SKIPPED = 3  # the run completed, but some input was skipped
# click's own errors (usage, bad values) pass through: click prints them and exits 2
_PASS: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort) + tuple(
    c
    for c in typer.BadParameter.__mro__
    if issubclass(c, BaseException) and c.__name__ == "ClickException"
)


def fail(exc: SecprioError) -> NoReturn:
    """Print an expected error (input and fix) and exit 2."""
    console.print(f"[bold red]error[/] {escape(exc.render('cli'))}", highlight=False)
    raise typer.Exit(EXIT_ERROR) from exc


def crash(exc: BaseException) -> NoReturn:
    """An unexpected error: one line for the user, the traceback in a file, exit 2."""
    folder = Path(os.environ.get("SECPRIO_TRACEBACKS") or Path(tempfile.gettempdir()) / "secprio")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"traceback-{stamp}-{os.getpid()}.txt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"secprio {__version__}\n" + "".join(traceback.format_exception(exc)), encoding="utf-8"
        )
        where = f"the full traceback is in {path}"
    except OSError:
        where = "the traceback could not be written to a file"
    console.print(
        f"[bold red]error[/] unexpected {type(exc).__name__}: {escape(str(exc)[:300])}\n"
        f"  {escape(where)}; please report it with the command you ran",
        highlight=False,
    )
    raise typer.Exit(EXIT_ERROR) from exc


def load(module: str) -> None:
    """Import the module of a command group (``secprio.cli.MODULE``): it registers on ``app``."""
    importlib.import_module(f"secprio.cli.{module}")


def load_all() -> None:
    """Import every command module, so ``app.registered_commands`` holds every command."""
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        load(module)


def _plugin_analyses() -> bool:
    """Whether an installed package declares analyses (entry-point group secprio.analyses):
    only then do listings import the analysis commands, whose names the table cannot know."""
    from secprio.plugins import entry_points

    return bool(entry_points("secprio.analyses"))


class Commands(TyperGroup):
    """The command group: every command runs inside the error contract.

    Commands are loaded lazily: listings (``secprio --help``, completion) use the table in
    ``commands.py``; running a command imports its module first.
    """

    def _load(self, module: str) -> None:
        load(module)
        self.commands.update(typer.main.get_command(app).commands)  # type: ignore[attr-defined]

    def list_commands(self, ctx: Any) -> list[str]:
        if _plugin_analyses():  # their commands are known once their analyses are loaded
            self._load("analysis")
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in COMMANDS:  # a listing: the table's line, no import
            return TyperCommand(cmd_name, short_help=COMMANDS[cmd_name][1])
        return found

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            if args[0] in COMMANDS:
                self._load(COMMANDS[args[0]][0])
            elif _plugin_analyses():  # perhaps the command of an installed analysis
                self._load("analysis")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS:
            raise
        except SecprioError as exc:
            fail(exc)
        except Exception as exc:  # noqa: BLE001 - the contract: no traceback reaches a user
            crash(exc)


app = typer.Typer(
    name="secprio",
    cls=Commands,
    help="Measure a regional organization's security priorities from its documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"secprio {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Measure a regional organization's security priorities from its documents."""


def choices(name: str, values: Iterable[str]) -> type[enum.StrEnum]:
    """An option type that accepts only these values; the parser lists them on a bad one."""
    return enum.StrEnum(name, {v: v for v in values})  # type: ignore[return-value]


@overload
def value(option: enum.StrEnum | str) -> str: ...
@overload
def value(option: None) -> None: ...
@overload
def value(option: enum.StrEnum | str | None) -> str | None: ...
def value(option: enum.StrEnum | str | None) -> str | None:
    """The plain string of a choice option (None when not given)."""
    if option is None:
        return None
    return str(option.value if isinstance(option, enum.Enum) else option)


ProjectOption = typer.Option(Path("."), "--project", "-p", help="The project folder.")


def open_project(path: Path) -> Project:
    from secprio.project import Project

    return guard(lambda: Project.open(path))


def guard(fn: Callable[[], T]) -> T:
    """Run fn; a SecprioError becomes a clear message and exit status 2, not a traceback."""
    try:
        return fn()
    except SecprioError as exc:
        fail(exc)


def require_file(path: Path, what: str, hint: str) -> Path:
    """``path`` when it is a readable file, else the contract's error (input and fix)."""
    if not path.is_file():
        why = "is a folder, not a file" if path.is_dir() else "does not exist"
        fail(SecprioError(f"{what} {why}", path=path, hint=hint, code="E001"))
    return path


def warn(message: str) -> None:
    console.print(f"[yellow]warning[/] {escape(message)}", highlight=False)


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar driven by a ``(done, total)`` callback."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            yield update
        except BaseException:  # the error message is what counts: no half-drawn bar after it
            bar.update(task, visible=False)
            raise
