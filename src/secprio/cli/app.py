"""The Typer app, the Rich console and helpers every command module shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from secprio.errors import SecprioError
from secprio.project import Project

app = typer.Typer(
    name="secprio",
    help="Measure a regional organization's security priorities from its documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)  # paths and fixes stay on one line
out = Console()

T = TypeVar("T")
EXIT_SKIPPED = 3  # the run completed, but some input was skipped

ProjectOption = typer.Option(Path("."), "--project", "-p", help="The project folder.")


def open_project(path: Path) -> Project:
    return guard(lambda: Project.open(path))


def guard(fn: Callable[[], T]) -> T:
    """Run fn; a SecprioError becomes a clear message and exit status 2, not a traceback."""
    try:
        return fn()
    except SecprioError as exc:
        console.print(f"[bold red]error[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc


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

        yield update
