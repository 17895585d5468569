"""The command line: a thin Typer layer over ``secprio.project.Project``."""

from __future__ import annotations

import importlib

from secprio.cli.app import app

for _name in ("core", "analysis", "coding", "serve", "watch"):
    try:
        importlib.import_module(f"secprio.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a command group not written yet
        if _exc.name != f"secprio.cli.{_name}":
            raise


def main() -> None:
    app()


__all__ = ["app", "main"]
