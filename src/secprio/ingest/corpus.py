"""The corpus: files and folders in, one Document (or Skipped) at a time out."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from secprio.errors import IngestError
from secprio.ingest.limits import Limits, over
from secprio.ingest.metadata import CSV_NAME, SIDECAR_SUFFIXES, resolve
from secprio.ingest.readers import prepare, read
from secprio.ingest.workers import Readers, out_of_memory
from secprio.model import Document, Skipped
from secprio.text.segment import columns

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of the file's bytes, read in chunks so large PDFs stay out of memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load(path: str | Path, limits: Limits = Limits()) -> Document:
    """Read one document: text (NFC), metadata, paragraphs and sentences."""
    path = Path(path)
    text, front = read(path, limits)
    text = unicodedata.normalize("NFC", text)  # offsets everywhere refer to the NFC text
    meta = resolve(path, text, front=front, limits=limits)
    # as columns: no object per segment here, in the pickle to the main process or there
    segments = columns(text, lang=meta.language, limit=limits.max_elements)
    if len(segments) > limits.max_elements:
        raise over(path, f"it has over {limits.max_elements} paragraphs and sentences",
                   "max_elements", limits.max_elements)  # fmt: skip
    return Document(
        path=str(path), sha256=sha256_file(path), text=text, meta=meta, segments=segments
    )


def scan(
    paths: str | Path | Iterable[str | Path],
    *,
    workers: int = 1,
    limits: Limits = Limits(),
    executor: str = "local",
    scheduler: str | None = None,
) -> Iterator[Document | Skipped]:
    """Documents under ``paths`` (files or folders, walked recursively in name order).

    A file that cannot be read comes out as Skipped with the reason and its fix, and the scan
    goes on. Sidecars, metadata.csv, hidden files and editor lock files are not documents;
    links out of a folder, link loops and special files are skipped (see ``walk``). Files are
    read and segmented in ``workers`` processes, each under ``limits`` (time, memory, size);
    the order of the output stays the order of the files. ``executor="dask"``: the files are
    read as tasks on a Dask cluster (``parallel.read_on_dask``; the scheduler at
    ``scheduler``, else a local cluster of ``workers`` processes), with the same limits.
    """
    found = list(walk(paths, limits=limits))
    yield from (s for s in found if isinstance(s, Skipped))
    files = [p for p in _unique(f for f in found if isinstance(f, Path))]
    if files:
        prepare(p.suffix for p in files)
        if executor == "dask":
            from secprio.parallel import read_on_dask

            yield from read_on_dask(files, limits, jobs=workers, scheduler=scheduler)
        else:
            yield from Readers(load_or_skip, limits, workers).map(files)


def _unique(paths: Iterable[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for path in paths:
        try:
            key = path.resolve()
        except (OSError, RuntimeError):  # a link loop: load() reports it
            key = path.absolute()
        if key not in seen:
            seen.add(key)
            yield path


def load_or_skip(path: Path, limits: Limits = Limits()) -> Document | Skipped:
    """``load``, with every failure turned into a Skipped that names the file and the fix."""
    try:
        return load(path, limits)
    except IngestError as exc:
        return Skipped(str(path), str(exc))
    except MemoryError:
        return Skipped(str(path), str(out_of_memory(path, limits)))
    except RecursionError:
        return Skipped(str(path), str(over(path, "its structure is nested too deeply",
                                           "max_depth", limits.max_depth)))  # fmt: skip
    except Exception as exc:  # a parser bug on one file must not end a run over thousands
        return Skipped(
            str(path),
            f"[{IngestError.code}] {path}: unexpected {type(exc).__name__}: {exc}\n"
            "  fix: open the file and save it again; if that does not help, report a bug",
        )


def walk(
    paths: str | Path | Iterable[str | Path], *, limits: Limits = Limits()
) -> Iterator[Path | Skipped]:
    """Every document file under these files and folders, in a stable order.

    What cannot be a document comes out as Skipped with the reason: a file name that is not
    UTF-8, a link whose target is outside the folder given (unless ``limits.follow_symlinks``),
    a broken link or a link loop, a FIFO, socket or device. Nothing outside the folders given
    is read unless links are followed on purpose.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    for item in map(Path, items):
        if item.is_dir() and not (item.is_symlink() and not limits.follow_symlinks):
            yield from _walk(item, limits)
        elif item.is_dir():
            yield _skip(item, "is a link to a folder; links are not followed",
                        "pass the folder itself, or --follow-symlinks")  # fmt: skip
        elif item.is_symlink() or item.exists():
            yield _check(item, item.parent, limits)
        else:
            yield item  # a missing file is reported by load(), not dropped here


def _walk(folder: Path, limits: Limits) -> Iterator[Path | Skipped]:
    errors: list[OSError] = []
    seen: set[tuple[int, int]] = set()
    _first_visit(folder, seen)
    root = folder.resolve()
    for here, dirs, files in os.walk(folder, onerror=errors.append,
                                     followlinks=limits.follow_symlinks):  # fmt: skip
        while errors:
            err = errors.pop()
            yield _skip(Path(err.filename or here), f"cannot list the folder: {err.strerror}",
                        "check its permissions")  # fmt: skip
        base = Path(here)
        keep = []
        for d in sorted(d for d in dirs if not d.startswith(".")):
            sub = base / d
            if not _utf8(d):
                yield _skip(sub, "the folder name is not valid UTF-8", "rename the folder")
            elif sub.is_symlink() and not limits.follow_symlinks:
                yield _skip(sub, "is a link to a folder; links are not followed",
                            "pass --follow-symlinks to read through links")  # fmt: skip
            elif not _first_visit(sub, seen):
                yield _skip(sub, "is a link loop (a folder seen before)", "remove the link")
            else:
                keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            if not _ignored(name):
                yield _check(base / name, root, limits)


def _first_visit(folder: Path, seen: set[tuple[int, int]]) -> bool:
    try:
        st = folder.stat()
    except OSError:
        return False
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _check(path: Path, root: Path, limits: Limits) -> Path | Skipped:
    """``path`` when it may be read as a document, else why not."""
    if not _utf8(path.name):
        return _skip(path, "the file name is not valid UTF-8",
                     "rename the file (its name shows the bytes that are not UTF-8)")  # fmt: skip
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", 0) == errno.ELOOP
            return _skip(path, "is a link loop" if loop else "is a broken link",
                         "remove the link or point it at a file")  # fmt: skip
        if not limits.follow_symlinks and not target.is_relative_to(root.resolve()):
            return _skip(path, f"is a link to {target}, outside the folder given; not read",
                         "copy the file into the folder, or pass --follow-symlinks")  # fmt: skip
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return _skip(path, f"cannot be read: {exc.strerror}", "check its permissions")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else None
        kind = kind or "a device"
        return _skip(path, f"is {kind}, not a regular file", "only regular files are documents")
    return path


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.walk keeps undecodable bytes as surrogates
        return False
    return True


def printable(path: Path | str) -> str:
    """``path`` with bytes that are not UTF-8 shown as \\xNN, safe to store and print."""
    return os.fsencode(str(path)).decode("utf-8", errors="backslashreplace")


def _skip(path: Path, message: str, hint: str) -> Skipped:
    where = printable(path)
    return Skipped(where, str(IngestError(message, path=where, hint=hint, code="E104")))


def _ignored(name: str) -> bool:
    lower = name.lower()
    return (
        name.startswith((".", "~$"))  # hidden files; Word's lock files
        or lower == CSV_NAME
        or lower.endswith(SIDECAR_SUFFIXES)
    )
