"""Stand-off gold: labels as character spans into documents kept elsewhere.

A labels file (TSV) names each coded sentence by ``file``, ``start`` and ``end`` (character
offsets into the file's UTF-8 text) and ``sha1``, the first 12 hex digits of the sha1 of that
span, so the texts can stay out of a repository (their licences) and still be checked when
they are rebuilt. Codes are short codes (``MIL``, ``T_RU``; ``NONE`` for none) mapped to
codebook categories by each category's ``code``. This is the format of the real-text
development set (``shared/devgold``) and of ``benchmarks/devgold-extra``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from secprio.exchange import ExchangeError

REQUIRED = ("id", "file", "start", "end", "sha1")
NONE = "NONE"


@dataclass(frozen=True)
class Span:
    id: str
    file: str
    start: int
    end: int
    sha1: str
    lang: str
    codes: frozenset[str]  # short codes, NONE dropped


def read(path: Path | str, *, column: str = "final") -> list[Span]:
    """Every row of a labels TSV; a malformed row is an error naming its line."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise ExchangeError(
            f"cannot read the labels file: {exc.strerror}",
            path=path,
            hint="give the path of a labels.tsv",
            code="E396",
        ) from None
    with handle:
        reader = csv.DictReader(handle, delimiter="\t")
        try:
            missing = [c for c in (*REQUIRED, column) if c not in (reader.fieldnames or [])]
            if missing:
                raise ExchangeError(
                    f"the labels file has no column {missing[0]!r}",
                    path=path,
                    hint=f"columns: {', '.join((*REQUIRED, column))}",
                    code="E395",
                )
            return [_span(row, column, path, line) for line, row in enumerate(reader, 2)]
        except UnicodeDecodeError as exc:
            raise ExchangeError(
                f"byte {exc.start} is not UTF-8",
                path=path,
                hint="save the labels file as UTF-8",
                code="E394",
            ) from None
        except csv.Error as exc:
            raise ExchangeError(
                f"after line {reader.line_num}: {exc}",
                path=path,
                hint="a labels file is tab-separated, one span a line, "
                "with short cells (codes, not texts)",
                code="E393",
            ) from None


def _span(row: Mapping[str, str | None], column: str, path: Path, line: int) -> Span:
    cells = {c: (row.get(c) or "").strip() for c in (*REQUIRED, column, "lang")}
    empty = [c for c in REQUIRED if not cells[c]]
    if empty:
        hint = f"every line has {', '.join(REQUIRED)}, tab-separated"
        raise ExchangeError(f"line {line}: no {empty[0]!r}", path=path, hint=hint, code="E392")
    try:
        start, end = int(cells["start"]), int(cells["end"])
    except ValueError:
        raise ExchangeError(
            f"line {line}: start/end are not integers",
            path=path,
            hint="write character offsets, e.g. 120 and 245",
            code="E391",
        ) from None
    if not 0 <= start <= end:
        raise ExchangeError(
            f"line {line}: the span {start}-{end} is not 0 <= start <= end",
            path=path,
            hint="write character offsets, e.g. 120 and 245",
            code="E390",
        )
    codes = {c.strip() for c in cells[column].split(",") if c.strip()}
    return Span(cells["id"], cells["file"], start, end, cells["sha1"], cells["lang"],
                frozenset(codes - {NONE}))  # fmt: skip


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def verify(spans: Iterable[Span], docs: Path | str) -> tuple[list[Span], list[tuple[Span, str]]]:
    """The spans whose text in ``docs`` has the recorded hash, and the others with a reason."""
    docs = Path(docs)
    texts: dict[str, str | None] = {}
    good: list[Span] = []
    bad: list[tuple[Span, str]] = []
    for span in spans:
        if span.file not in texts:
            texts[span.file] = _text(docs, span.file)
        text = texts[span.file]
        if text is None:
            bad.append((span, "file missing"))
        elif digest(text[span.start : span.end]) != span.sha1:
            bad.append((span, "text differs from the recorded hash"))
        else:
            good.append(span)
    return good, bad


def _text(docs: Path, name: str) -> str | None:
    """The UTF-8 text of the file ``name`` inside ``docs``; None when it is not a readable
    regular file there (a name that climbs out of ``docs`` counts as missing)."""
    root = docs.resolve()
    f = (docs / name).resolve()
    if not f.is_relative_to(root) or not f.is_file():
        return None
    try:
        return f.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def categories(spans: Sequence[Span], code_map: Mapping[str, str]) -> list[frozenset[str]]:
    """Each span's codebook categories; an unknown code is an error, not a silent negative."""
    out = []
    for span in spans:
        unknown = sorted(span.codes - code_map.keys())
        if unknown:
            raise ExchangeError(
                f"span {span.id}: unknown code {unknown[0]!r}",
                hint=f"known codes: {', '.join(sorted(code_map))}",
                code="E389",
            )
        out.append(frozenset(code_map[c] for c in span.codes))
    return out


def align(spans: Sequence[Span], segments: pd.DataFrame) -> list[list[int]]:
    """For each span, the segments (``segment_id``) of its file that make it up.

    ``segments`` has ``file``, ``start``, ``end`` and ``segment_id``. A segment belongs to a
    span when they overlap by at least half of the shorter of the two: a labelled sentence
    split in two by the segmenter keeps both halves; a neighbour touching it by a few
    characters does not count.
    """
    by_file = {f: g.sort_values("start") for f, g in segments.groupby("file")}
    out: list[list[int]] = []
    for span in spans:
        g = by_file.get(span.file)
        if g is None:
            out.append([])
            continue
        lo = g["start"].clip(lower=span.start)
        hi = g["end"].clip(upper=span.end)
        overlap = (hi - lo).clip(lower=0)
        shorter = (g["end"] - g["start"]).clip(upper=span.end - span.start).clip(lower=1)
        out.append(g.loc[overlap >= 0.5 * shorter, "segment_id"].astype(int).tolist())
    return out
