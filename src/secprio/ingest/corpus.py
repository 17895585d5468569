"""The corpus: files and folders in, one Document (or Skipped) at a time out."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from secprio.errors import IngestError
from secprio.ingest.metadata import CSV_NAME, SIDECAR_SUFFIXES, resolve
from secprio.ingest.model import Document, Skipped
from secprio.ingest.readers import read
from secprio.text.segment import segment

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of the file's bytes, read in chunks so large PDFs stay out of memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load(path: str | Path) -> Document:
    """Read one document: text (NFC), metadata, paragraphs and sentences."""
    path = Path(path)
    text, front = read(path)
    text = unicodedata.normalize("NFC", text)  # offsets everywhere refer to the NFC text
    meta = resolve(path, text, front=front)
    segments = tuple(segment(text, lang=meta.language))
    return Document(
        path=str(path), sha256=sha256_file(path), text=text, meta=meta, segments=segments
    )


def scan(
    paths: str | Path | Iterable[str | Path], *, workers: int = 1
) -> Iterator[Document | Skipped]:
    """Documents under ``paths`` (files or folders, walked recursively in name order).

    A file that cannot be read comes out as Skipped with the reason and its fix, and the scan
    goes on. Sidecars, metadata.csv, hidden files and editor lock files are not documents.
    With ``workers`` > 1, files are read and segmented in that many processes; the order of
    the output stays the order of the files.
    """
    files = _unique(walk(paths))
    if workers <= 1:
        yield from map(_load_or_skip, files)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # a bounded window of pending files keeps memory flat on any corpus size
        window: deque[Future[Document | Skipped]] = deque()
        for path in files:
            window.append(pool.submit(_load_or_skip, path))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _unique(paths: Iterable[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            yield path


def _load_or_skip(path: Path) -> Document | Skipped:
    try:
        return load(path)
    except IngestError as exc:
        return Skipped(str(path), str(exc))
    except Exception as exc:  # a parser bug on one file must not end a run over thousands
        return Skipped(
            str(path),
            f"[{IngestError.code}] {path}: unexpected {type(exc).__name__}: {exc}\n"
            "  fix: open the file and save it again; if that does not help, report a bug",
        )


def walk(paths: str | Path | Iterable[str | Path]) -> Iterator[Path]:
    """Every document file under these files and folders, in a stable order."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    for item in map(Path, items):
        if item.is_dir():
            yield from _walk(item)
        else:
            yield item  # a missing or odd file is reported by load(), not dropped here


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not _ignored(name):
                yield Path(root) / name


def _ignored(name: str) -> bool:
    lower = name.lower()
    return (
        name.startswith((".", "~$"))  # hidden files; Word's lock files
        or lower == CSV_NAME
        or lower.endswith(SIDECAR_SUFFIXES)
    )
