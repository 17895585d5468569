"""The command line: a thin Typer layer over ``secprio.project.Project``.

The command modules are imported when their command runs (see ``commands.py``);
``load_all()`` imports them all, for code that walks ``app.registered_commands``.
"""

from __future__ import annotations

from secprio.cli.app import app, load_all


def main() -> None:
    app()


__all__ = ["app", "load_all", "main"]
