"""Limits on what one input file may cost: every document is untrusted.

Each limit is a setting (``ingest:`` in ``secprio.yaml``) with a default that real documents
stay far below and that keeps the worst file under about 1 GB of memory and its time limit.
A file over a limit is skipped with the limit's name, so the user knows what to raise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from secprio.errors import IngestError

MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_file_mb: float = 100.0  # size of one input file on disk
    max_unpacked_mb: float = 256.0  # a DOCX's members, uncompressed, together
    max_ratio: float = 100.0  # uncompressed / compressed size of a DOCX (zip bombs)
    max_pages: int = 5000  # pages of one PDF
    max_elements: int = 200_000  # HTML/XML elements, table cells, paragraphs + sentences
    max_depth: int = 256  # nesting of HTML/XML elements
    max_chars: int = 20_000_000  # characters of text extracted from one file
    timeout: float = 120.0  # seconds to read one file; the reader is stopped after that
    max_memory_mb: int = 1024  # memory of one reader process
    follow_symlinks: bool = False  # read links whose target is outside the input folder

    def check(self, path: object) -> None:
        """Raise an error naming ``path`` (the settings file) when a limit is not positive."""
        from secprio.errors import ProjectError

        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "follow_symlinks":
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            if not ok:
                raise ProjectError(
                    f"ingest.{f.name} is {value!r}",
                    path=path,
                    hint=f"use {'true or false' if f.name == 'follow_symlinks' else 'a number > 0'}"
                    f" (default {getattr(Limits(), f.name)})",
                    code="E719",
                )


def over(path: Path | str, what: str, setting: str, limit: object) -> IngestError:
    """The error for a file over one limit: what it has, which setting allows more."""
    return IngestError(
        f"{what}, over the limit of {limit} (ingest.{setting})",
        path=path,
        hint=f"raise ingest.{setting} in secprio.yaml if this file is wanted, or remove it",
        code="E105",
    )
