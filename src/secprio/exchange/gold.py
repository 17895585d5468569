"""Gold sets: human codings of sentences, one row per (sentence, category, coder).

A row names its sentence by ``text`` or by ``doc`` + ``start`` + ``end`` (character offsets
into a document of the project), gives a ``category`` id (empty: the coder saw the sentence
and applied nothing) and the ``coder``. An ``id`` column, when present, identifies the
sentence; otherwise the text does. See docs/formats.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from secprio import files
from secprio.exchange import ExchangeError
from secprio.exchange.limits import ImportLimits

if TYPE_CHECKING:
    from secprio.project import Project

COLUMNS = ["unit", "text", "lang", "category", "coder", "line"]
DEFAULT_CODER = "human"


@dataclass(frozen=True)
class Gold:
    """Rows with columns ``COLUMNS``; ``unit`` is the sentence key, ``line`` the file line."""

    rows: pd.DataFrame
    path: str = ""

    @property
    def coders(self) -> list[str]:
        """Coders, the one who coded most sentences first (the reference coder)."""
        n = self.rows.groupby("coder", sort=False)["unit"].nunique()
        return list(n.sort_values(ascending=False, kind="stable").index)

    def units(self, coders: Sequence[str] | None = None) -> pd.DataFrame:
        """Distinct sentences (unit, text, lang) in file order, optionally of some coders."""
        rows = self.rows if coders is None else self.rows[self.rows["coder"].isin(coders)]
        return rows.drop_duplicates("unit")[["unit", "text", "lang"]].reset_index(drop=True)

    def labels(self, coder: str | None = None) -> dict[str, frozenset[str]]:
        """unit -> categories applied by ``coder`` (default: the reference coder)."""
        coder = coder or self.coders[0]
        mine = self.rows[self.rows["coder"] == coder]
        out: dict[str, set[str]] = {u: set() for u in mine["unit"]}
        for u, c in zip(mine["unit"], mine["category"], strict=True):
            if c:
                out[u].add(c)
        return {u: frozenset(c) for u, c in out.items()}

    def all_labels(self) -> dict[str, dict[str, frozenset[str]]]:
        return {c: self.labels(c) for c in self.coders}


def read(
    path: Path | str,
    *,
    categories: Sequence[str] | None = None,
    documents: Mapping[str, str] | None = None,
    limits: ImportLimits | None = None,
) -> Gold:
    """Read a gold CSV or JSONL file; every problem names the file, the line and the fix.

    ``categories`` (the codebook's ids) rejects unknown categories; ``documents`` (a name ->
    text mapping, see :func:`project_documents`) resolves ``doc`` + offset rows.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.is_file():
        raise ExchangeError(
            "gold file not found",
            path=path,
            hint="give the path of a .csv or .jsonl gold file",
            code="E373",
        )
    size = path.stat().st_size
    if size > limits.gold_bytes:
        raise ExchangeError(
            f"the gold file is {size >> 20} MiB (the limit is {limits.gold_bytes >> 20} MiB)",
            path=path,
            hint="split it into several files, or raise imports.gold_bytes in secprio.yaml",
            code="E372",
        )
    rows_in = _jsonl(path) if path.suffix.lower() in (".jsonl", ".ndjson") else _csv(path, limits)
    raw = []
    for item in _guarded(rows_in, path):
        raw.append(item)
        limits.too_many("gold rows", len(raw), limits.gold_rows, path=path, setting="gold_rows")
    if not raw:
        raise ExchangeError(
            "the gold file has no rows",
            path=path,
            hint="add one row per (sentence, category) a coder applied",
            code="E371",
        )
    known = set(categories) if categories is not None else None
    rows = [_row(r, line, path=path, known=known, documents=documents) for line, r in raw]
    df = pd.DataFrame(rows, columns=COLUMNS).drop_duplicates(["unit", "coder", "category"])
    _check_consistent(df, path)
    return Gold(df.reset_index(drop=True), str(path))


def _guarded(
    rows: Iterator[tuple[int, dict[str, str]]], path: Path
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a gold file; what the csv and json modules raise becomes an ExchangeError."""
    line = 0
    try:
        for line, row in rows:
            yield line, row
    except UnicodeDecodeError as exc:
        raise ExchangeError(
            f"not UTF-8 text (after line {line}: {exc.reason})",
            path=path,
            hint="save the file as UTF-8 (in a spreadsheet: CSV UTF-8)",
            code="E370",
        ) from exc
    except csv.Error as exc:
        raise ExchangeError(
            f"after line {line}: not readable as CSV ({exc})",
            path=path,
            hint="save it again as comma-separated values; one sentence per field",
            code="E369",
        ) from exc


def _csv(path: Path, limits: ImportLimits) -> Iterator[tuple[int, dict[str, str]]]:
    csv.field_size_limit(max(csv.field_size_limit(), limits.gold_field_chars))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        if not ({"text"} <= cols or {"doc", "start", "end"} <= cols) or "category" not in cols:
            raise ExchangeError(
                f"the header has {sorted(cols)}",
                path=path,
                hint="columns needed: text (or doc, start, end) and category; "
                "optional: id, coder, lang",
                code="E368",
            )
        for r in reader:
            # a cell secprio made inert for spreadsheets (files.write_csv) reads as written
            yield reader.line_num, {k: files.revert(v or "") for k, v in r.items() if k}


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    for line, content in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not content.strip():
            continue
        try:
            obj = json.loads(content)
        except RecursionError as exc:
            raise ExchangeError(
                f"line {line}: JSON nested too deeply",
                path=path,
                hint='write flat objects: {"text": ..., "category": ..., "coder": ...}',
                code="E367",
            ) from exc
        except json.JSONDecodeError as exc:
            raise ExchangeError(
                f"line {line}: not valid JSON ({exc.msg})",
                path=path,
                hint="write one JSON object per line",
                code="E366",
            ) from exc
        if not isinstance(obj, dict):
            raise ExchangeError(
                f"line {line}: expected a JSON object",
                path=path,
                hint='write {"text": ..., "category": ..., "coder": ...}',
                code="E365",
            )
        cats = obj.get("category", obj.get("categories", ""))
        for cat in cats if isinstance(cats, list) else [cats]:
            yield (
                line,
                {
                    **{k: "" if v is None else str(v) for k, v in obj.items()},
                    "category": "" if cat is None else str(cat),
                },
            )


def _row(
    r: dict[str, str],
    line: int,
    *,
    path: Path,
    known: set[str] | None,
    documents: Mapping[str, str] | None,
) -> dict[str, object]:
    where = f"line {line}: "
    category = r.get("category", "").strip()
    if known is not None and category and category not in known:
        raise ExchangeError(
            f"{where}unknown category {category!r}",
            path=path,
            hint=f"use a codebook id ({', '.join(sorted(known))}) or leave "
            "it empty for a sentence coded with nothing",
            code="E364",
        )
    text = " ".join(r.get("text", "").split())
    unit = r.get("id", "").strip()
    if not text:
        text, offsets = _resolve(r, where, path=path, documents=documents)
        unit = unit or offsets
    if not text:
        raise ExchangeError(
            f"{where}the sentence is empty",
            path=path,
            hint="fill the text column, or doc + start + end",
            code="E363",
        )
    return {
        "unit": unit or text,
        "text": text,
        "lang": r.get("lang", "").strip(),
        "category": category,
        "coder": r.get("coder", "").strip() or DEFAULT_CODER,
        "line": line,
    }


def _resolve(
    r: dict[str, str], where: str, *, path: Path, documents: Mapping[str, str] | None
) -> tuple[str, str]:
    doc = r.get("doc", "").strip()
    if not doc:
        raise ExchangeError(
            f"{where}neither text nor doc is given",
            path=path,
            hint="fill the text column, or doc + start + end",
            code="E362",
        )
    if documents is None or doc not in documents:
        raise ExchangeError(
            f"{where}document {doc!r} is not in the project",
            path=path,
            hint="ingest it first, or name it by its path or file name",
            code="E361",
        )
    try:
        start, end = int(r.get("start", "")), int(r.get("end", ""))
    except ValueError as exc:
        raise ExchangeError(
            f"{where}start/end are not whole numbers",
            path=path,
            hint="give character offsets, e.g. start 120 end 245",
            code="E360",
        ) from exc
    text = documents[doc]
    if not 0 <= start < end <= len(text):
        raise ExchangeError(
            f"{where}offsets {start}-{end} fall outside {doc!r}",
            path=path,
            hint=f"the document has {len(text)} characters",
            code="E359",
        )
    return " ".join(text[start:end].split()), f"{doc}@{start}-{end}"


def _check_consistent(df: pd.DataFrame, path: Path) -> None:
    """A coder cannot say 'nothing applies' and apply a category to the same sentence."""
    has_none = df[df["category"] == ""].set_index(["unit", "coder"])
    has_cat = df[df["category"] != ""].set_index(["unit", "coder"])
    both = has_none.index.intersection(has_cat.index)
    if len(both):
        unit, coder = both[0]
        line = int(has_none.loc[(unit, coder), "line"])
        raise ExchangeError(
            f"line {line}: {coder} coded a sentence with nothing and with a category",
            path=path,
            hint="delete the empty-category row, or the category rows",
            code="E358",
        )


def write(gold: Gold | pd.DataFrame, path: Path | str) -> Path:
    """Write rows as CSV (id,text,lang,category,coder) or JSONL, by the file's suffix."""
    path = Path(path)
    rows = gold.rows if isinstance(gold, Gold) else gold
    out = rows.rename(columns={"unit": "id"})[["id", "text", "lang", "category", "coder"]]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        out.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        files.write_csv(path, out)
    return path


class ProjectTexts(Mapping[str, str]):
    """A project's document texts under every name a gold file may use (path, file name,
    stem, id), each read from the store the first time it is asked for: only the documents
    a gold file names are held, never the corpus."""

    def __init__(self, project: Project) -> None:
        self._store = project.store
        self._ids: dict[str, int] = {}
        docs = project.documents()
        for i, path in zip(docs["document_id"], docs["path"], strict=True):
            p = Path(str(path))
            for key in (str(i), str(path), p.name, p.stem):
                self._ids.setdefault(key, int(i))
        self._texts: dict[int, str] = {}

    def __getitem__(self, name: str) -> str:
        i = self._ids[name]
        if i not in self._texts:
            self._texts[i] = self._store.texts([i])[i]
        return self._texts[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def project_documents(project: Project) -> Mapping[str, str]:
    """Document texts under every name a gold file may use: path, file name, stem, id."""
    return ProjectTexts(project)


GOLD_NAMES = ("gold.csv", "gold.jsonl")


def locate(project: Project, *, pack: bool = True) -> Path | None:
    """The project's gold file: ``gold.csv``/``gold.jsonl`` in its folder, else (with
    ``pack``) the gold set of the bundled pack whose codebook the project uses unchanged."""
    from secprio import packs

    for name in GOLD_NAMES:
        if (project.root / name).is_file():
            return project.root / name
    folder = packs.matching(project.codebook.sha256) if pack else None
    gold = folder / "gold.csv" if folder else None
    return gold if gold is not None and gold.is_file() else None


def to_store(project: Project, gold: Gold) -> tuple[int, list[str]]:
    """Store a gold file's decisions on the project's sentences as human codings.

    A sentence is found by a ``seg:ID`` id (what ``secprio suggest`` writes), by
    ``doc@start-end``, or by its text. The coder saw the sentence, so each category they did
    not apply is stored as a rejection (value 0): it overrides a machine coding too.
    Returns the number of codings stored and the sentences not found in the project.
    """
    with project.store.lock("import-gold"):  # the sentences it finds stay the active ones
        return _to_store(project, gold)


def _to_store(project: Project, gold: Gold) -> tuple[int, list[str]]:
    from secprio.model import Coding

    sents = project.sentences(text=True)
    by_text = {
        " ".join(t.split()): int(s) for t, s in zip(sents["text"], sents["segment_id"], strict=True)
    }
    ids = set(sents["segment_id"].astype(int))
    cats = project.codebook.ids()
    rows, missing = [], []
    for unit, part in gold.rows.groupby("unit", sort=False):
        seg = _segment(str(unit), str(part["text"].iat[0]), ids, by_text)
        if seg is None:
            missing.append(str(unit))
            continue
        for coder, mine in part.groupby("coder", sort=False):
            applied = set(mine["category"]) - {""}
            rows += [
                Coding(
                    seg,
                    c,
                    str(coder),
                    "gold",
                    value=int(c in applied),
                    evidence={"gold": Path(gold.path).name, "unit": str(unit)},
                )
                for c in cats
            ]
    return project.store.add_human(rows), missing


def _segment(unit: str, text: str, ids: set[int], by_text: Mapping[str, int]) -> int | None:
    if unit.startswith("seg:") and unit[4:].isdigit() and int(unit[4:]) in ids:
        return int(unit[4:])
    return by_text.get(" ".join(text.split()))
