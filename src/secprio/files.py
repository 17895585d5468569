"""Writing files so that a crash never leaves half of one: write beside it, then rename; and
where secprio keeps what it can recompute (its per-user cache)."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def user_cache() -> Path | None:
    """The per-user cache folder: ``$SECPRIO_CACHE``, else ``$XDG_CACHE_HOME/secprio`` or
    ``~/.cache/secprio``; None when ``SECPRIO_CACHE`` is set empty (no cache). It holds only
    what can be recomputed (compiled pattern databases, sentence vectors), so it is safe to
    delete."""
    root = os.environ.get("SECPRIO_CACHE")
    if root == "":
        return None
    if root is None:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "secprio"
    return Path(root)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path next to ``path``; renamed over it when the block ends without error.

    A process killed mid-write leaves the previous file intact (and at worst a stray
    ``.NAME.PID.tmp``, which the next write of ``path`` removes); the rename also replaces
    a symlink at ``path`` instead of writing through it. A full disk is a ProjectError
    (E717) that says so, with the temporary file removed.
    """
    path = Path(path)
    _sweep(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _disk_full(path) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _disk_full(path: Path) -> Exception:
    from secprio.errors import ProjectError

    return ProjectError(
        "the disk is full: this file was not written; no part of it is left, and the file "
        "that was there, if any, is unchanged",
        path=path,
        hint="free disk space, then run the same command again",
        code="E717",
    )


def _sweep(path: Path) -> None:
    """Remove what a killed writer of ``path`` left (its process is gone)."""
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = old.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            old.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_bytes(path: Path | str, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: Path | str, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """A text cell a spreadsheet will show, not run: OWASP's rule, a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def revert(value: str) -> str:
    """The text :func:`inert` was given (for CSV files secprio reads back)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def write_csv(path: Path | str, df: pd.DataFrame) -> Path:
    """Write a table as CSV, atomically, with every text cell inert in a spreadsheet.

    Numbers stay numbers (``-1.5`` is a number, not a formula); only cells of text columns
    are touched, so a CSV secprio reads back (gold files) is undone by :func:`revert`.
    """
    import csv

    import pandas as pd

    out = df.copy()
    bare_cr = False
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(inert)
            bare_cr = bare_cr or out[col].map(lambda v: isinstance(v, str) and "\r" in v).any()
    out.columns = [inert(c) for c in out.columns]
    # Python 3.11's csv writer leaves a field with a lone CR unquoted, which splits the row
    # in every reader: quote all text cells then.
    quoting = csv.QUOTE_NONNUMERIC if bare_cr else csv.QUOTE_MINIMAL
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, quoting=quoting)
    return Path(path)
