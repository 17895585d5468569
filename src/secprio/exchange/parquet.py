"""Parquet export: the store's tables and the sentence × category codings, one file each.

Every file is written in row groups of ``BATCH`` rows read from the store in chunks (a
``ParquetWriter`` over a streamed query), so memory holds one chunk whatever the corpus size;
each file is written beside its name and renamed when complete (``files.atomic_path``).
Column types follow the schema: JSON columns become JSON text, times microsecond timestamps.
The account tables (users, sessions, audit) are left out: password hashes and session tokens
have no place in a data export. docs/formats.md, 'Parquet export', lists the files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from secprio.errors import ExchangeError
from secprio.files import atomic_path
from secprio.store.reads import Column

if TYPE_CHECKING:
    from secprio.project import Project

BATCH = 10_000  # rows per chunk read from the store and per Parquet row group
DOCUMENTS_BATCH = 100  # documents carry their whole text: fewer of them per chunk
TABLES = (
    "documents",
    "segments",
    "runs",
    "run_documents",
    "codings",
    "decisions",
    "skipped",
    "assignments",
    "assignment_items",
)
LEFT_OUT = ("users", "sessions", "audit")  # accounts: password hashes, session tokens
SENTENCE_CODINGS = "sentence_codings"


ARROW = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(),
         "datetime": pa.timestamp("us"), "json": pa.string(), "text": pa.string()}  # fmt: skip


def _schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW[c.kind], nullable=c.nullable) for c in columns])


TEXT = pa.field("text", pa.string(), nullable=False)  # added to segments: cut from documents


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _batch(rows: Sequence[Any], columns: Sequence[Column], schema: pa.Schema) -> pa.RecordBatch:
    values_of = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    arrays = []
    for column, values in zip(columns, values_of, strict=True):
        if column.kind == "json":
            values = tuple(_json(v) for v in values)
        arrays.append(pa.array(values, type=schema.field(column.name).type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _segment_texts(project: Project, rows: Sequence[Any]) -> pa.Array:
    """Each segment's text, cut from its document's: only this chunk's documents are read."""
    texts = project.store.texts(sorted({int(r.document_id) for r in rows}), own=True)
    return pa.array([texts[r.document_id][r.start : r.end] for r in rows], type=pa.string())


def _write_table(project: Project, name: str, path: Path, batch: int) -> int:
    columns = project.store.columns(name)
    schema, n = _schema(columns), 0
    segments = name == "segments"
    size = min(batch, DOCUMENTS_BATCH) if name == "documents" else batch
    with (
        atomic_path(path) as tmp,
        pq.ParquetWriter(tmp, schema.append(TEXT) if segments else schema) as writer,
        project.store.streamed(name, size) as chunks,
    ):
        for rows in chunks:
            record = _batch(rows, columns, schema)
            if segments:
                record = record.append_column(TEXT, _segment_texts(project, rows))
            writer.write_batch(record)
            n += len(rows)
    return n


CODING_FIELDS = pa.schema(
    [
        pa.field("segment_id", pa.int64(), nullable=False),
        pa.field("document_id", pa.int64(), nullable=False),
        pa.field("idx", pa.int64(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("value", pa.int64(), nullable=False),
        pa.field("coder", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("confidence", pa.float64()),
    ]
)


def _sentence_codings(project: Project, sentences: pd.DataFrame, coder: str | None) -> pa.Table:
    """Every (sentence, category) cell of a chunk: 1 when the effective coding applies it,
    else 0, with who decided (empty when nobody coded the cell)."""
    lo, hi = int(sentences["segment_id"].min()), int(sentences["segment_id"].max())
    cod = project.codings(coder, between=(lo, hi))[
        ["segment_id", "category", "value", "coder", "source", "confidence"]
    ]
    cells = sentences.merge(pd.DataFrame({"category": project.codebook.ids()}), how="cross")
    cells = cells.merge(cod, on=["segment_id", "category"], how="left")
    cells["value"] = cells["value"].fillna(0).astype("int64")
    cells[["coder", "source"]] = cells[["coder", "source"]].fillna("")
    return pa.Table.from_pandas(
        cells[CODING_FIELDS.names], schema=CODING_FIELDS, preserve_index=False
    )


def _write_sentence_codings(project: Project, path: Path, batch: int, coder: str | None) -> int:
    per_chunk = max(1, batch // max(1, len(project.codebook.ids())))
    n = 0
    with (
        atomic_path(path) as tmp,
        pq.ParquetWriter(tmp, CODING_FIELDS) as writer,
        project.store.streamed_sentences(per_chunk) as chunks,
    ):
        for rows in chunks:
            chunk = pd.DataFrame(rows, columns=["segment_id", "document_id", "idx"])
            cells = _sentence_codings(project, chunk, coder)
            writer.write_table(cells)
            n += cells.num_rows
    return n


def _folder(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise ExchangeError(
            "is a file: the Parquet export writes a folder of .parquet files",
            path=folder,
            hint="give the path of a new or existing folder",
            code="E354",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExchangeError(
            f"cannot create the export folder: {exc.strerror or exc}",
            path=folder,
            hint="give a folder you can write to",
            code="E355",
        ) from exc
    return folder


def export(
    project: Project, folder: Path | str, *, coder: str | None = None, batch: int = BATCH
) -> dict[str, int]:
    """Write ``TABLE.parquet`` for each of ``TABLES`` and ``sentence_codings.parquet`` into
    ``folder`` (created if needed); return the rows written per file. ``sentence_codings``
    holds the effective codings of ``coder`` (default: the project's), human decisions winning."""
    out = _folder(Path(folder))
    written: dict[str, int] = {}
    try:
        for name in TABLES:
            written[name] = _write_table(project, name, out / f"{name}.parquet", batch)
        path = out / f"{SENTENCE_CODINGS}.parquet"
        written[SENTENCE_CODINGS] = _write_sentence_codings(project, path, batch, coder)
    except OSError as exc:
        raise ExchangeError(
            f"cannot write the Parquet export: {exc.strerror or exc}",
            path=out,
            hint="give a folder you can write to, on a disk with room",
            code="E356",
        ) from exc
    return written
