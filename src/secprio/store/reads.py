"""Store methods that read documents, sentences and codings for the project and the exports.

Mixed into ``Store``, so that no module outside ``secprio.store`` writes SQL (issue 14): each
read the project, the gold and QDPX exchanges and the Parquet export need is a named method
here. Reads that took the connection of ``Store.reading()`` before still do (they see the
snapshot of ``Store.snapshot()``); those that opened their own connection still do too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Literal, NamedTuple

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from secprio.store import aggregate
from secprio.store import schema as t
from secprio.store.carry import uncarried

Kind = Literal["bool", "int", "float", "datetime", "json", "text"]


class Column(NamedTuple):
    """A column of a stored table, as an export needs to type it."""

    name: str
    kind: Kind
    nullable: bool


class Source(NamedTuple):
    """An active document's id, path, text and the SHA-256 of its file."""

    id: int
    path: str
    text: str
    sha256: str


def _kind(column: sa.Column[Any]) -> Kind:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.Float):
        return "float"
    if isinstance(kind, sa.DateTime):
        return "datetime"
    if isinstance(kind, sa.JSON):
        return "json"
    return "text"  # text and strings


class ReadStore:
    engine: Engine  # made by Store.__init__
    _snap: threading.local  # the connection of this thread's snapshot(), made there too

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read of this thread inside (``reading``, ``frame``, what ``Project`` reads)
        sees the store as one committed state: a ``code`` committing batches meanwhile, or an
        import, never makes a score or a report mix codings from before and after it. The
        state is SQLite's WAL snapshot, taken at the first read (PostgreSQL: a repeatable-read
        transaction). Nested snapshots are the outer one."""
        if getattr(self._snap, "conn", None) is not None:
            yield
            return
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                # pysqlite leaves reads outside a transaction: begin one by hand
                conn.exec_driver_sql("BEGIN")
            else:
                conn.execution_options(isolation_level="REPEATABLE READ")
            self._snap.conn = conn
            try:
                yield
            finally:
                self._snap.conn = None
                conn.rollback()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection to read with: the snapshot's inside ``snapshot()``, else a new one."""
        pinned = getattr(self._snap, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with self.engine.connect() as conn:
            yield conn

    def frame(self, query: sa.Select[tuple[object, ...]]) -> pd.DataFrame:
        with self.reading() as conn:
            return pd.read_sql(query, conn)

    def table(self, name: str) -> pd.DataFrame:
        return self.frame(sa.select(t.metadata.tables[name]))

    # -- the project's tables ----------------------------------------------------------------
    def document_frame(self) -> pd.DataFrame:
        """The active documents, every column but the text."""
        cols = [c for c in t.documents.c if c.name != "text"]
        return self.frame(sa.select(*cols).where(t.documents.c.active.is_(True)))

    def sentence_frame(
        self, documents: Sequence[int] | None = None, *, segments: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """The sentences of the active documents (segment_id, document_id, idx, paragraph,
        start, end), in id order; ``documents``, ``segments``: of these documents, these
        sentences only."""
        q = (
            sa.select(
                t.segments.c.id.label("segment_id"),
                t.segments.c.document_id,
                t.segments.c.idx,
                t.segments.c.paragraph,
                t.segments.c.start,
                t.segments.c.end,
            )
            .join(t.documents, t.documents.c.id == t.segments.c.document_id)
            .where(t.segments.c.kind == "sentence", t.documents.c.active.is_(True))
            .order_by(t.segments.c.id)
        )
        if documents is not None:
            q = q.where(t.segments.c.document_id.in_([int(d) for d in documents]))
        if segments is None:
            return self.frame(q)
        ids = sorted({int(i) for i in segments})
        parts = [self.frame(q.where(t.segments.c.id.in_(ids[lo : lo + 500])))
                 for lo in range(0, len(ids), 500)]  # fmt: skip
        return pd.concat(parts, ignore_index=True) if parts else self.frame(q.where(sa.false()))

    def human_frame(self) -> pd.DataFrame:
        """Every human coding, without its evidence."""
        cols = [c for c in t.codings.c if c.name != "evidence"]
        return self.frame(sa.select(*cols).where(t.codings.c.source == "human"))

    def texts(self, doc_ids: Sequence[int], *, own: bool = False) -> dict[int, str]:
        """document id -> text, for these documents; ``own``: read on a connection of its
        own, outside any ``snapshot()`` (as the streamed reads are)."""
        q = sa.select(t.documents.c.id, t.documents.c.text).where(
            t.documents.c.id.in_(list(doc_ids))
        )
        reading = self.engine.connect() if own else self.reading()
        with reading as conn:
            return {int(i): str(x) for i, x in conn.execute(q)}

    def coding_frame(
        self,
        coder: str,
        *,
        codebook_sha256: str,
        human: bool = True,
        between: tuple[int, int] | None = None,
        evidence: bool = True,
    ) -> pd.DataFrame:
        """The machine codings of ``coder`` made in runs with this codebook, and (``human``)
        every human coding; ``between``: of segment ids in this closed range only;
        ``evidence=False`` leaves that column out."""
        q = aggregate.codings_select(coder, codebook_sha256, human=human, evidence=evidence)
        if between is not None:
            q = q.where(t.codings.c.segment_id.between(*between))
        return self.frame(q)

    def coded_documents(self, coder: str) -> tuple[list[tuple[int, str]], int]:
        """(active document id, codebook SHA-256) of every ``code`` run of ``coder`` that
        committed it, and the number of active documents: both read on one connection."""
        q = (
            sa.select(t.run_documents.c.document_id, t.runs.c.codebook_sha256)
            .join(t.runs, t.runs.c.id == t.run_documents.c.run_id)
            .join(t.documents, t.documents.c.id == t.run_documents.c.document_id)
            .where(t.runs.c.coder == coder, t.runs.c.kind == "code")
            .where(t.documents.c.active.is_(True))
        )
        with self.reading() as conn:
            rows = [(int(d), str(sha)) for d, sha in conn.execute(q)]
            n_active = conn.execute(
                sa.select(sa.func.count()).where(t.documents.c.active.is_(True))
            ).scalar_one()
        return rows, int(n_active)

    def uncarried(self) -> pd.DataFrame:
        """Human codings left on replaced document versions (store/carry.py)."""
        return uncarried(self.engine)

    # -- the exchanges -----------------------------------------------------------------------
    def sources(self) -> list[Source]:
        """Every active document with its path, text and file hash, in no set order."""
        q = sa.select(
            t.documents.c.id, t.documents.c.path, t.documents.c.text, t.documents.c.sha256
        ).where(t.documents.c.active.is_(True))
        with self.engine.connect() as conn:
            return [Source(int(i), str(p), str(x), str(s)) for i, p, x, s in conn.execute(q)]

    def applied_spans(self) -> pd.DataFrame:
        """Every coding with value 1 (machine and human, of every document version): category,
        coder, source and the document_id, start and end of its segment."""
        q = (
            sa.select(
                t.codings.c.category,
                t.codings.c.coder,
                t.codings.c.source,
                t.segments.c.document_id,
                t.segments.c.start,
                t.segments.c.end,
            )
            .join(t.segments, t.segments.c.id == t.codings.c.segment_id)
            .where(t.codings.c.value == 1)
        )
        return self.frame(q)

    def sentence_spans(self, doc_ids: Sequence[int]) -> dict[int, list[tuple[int, int, int]]]:
        """document id -> its sentences as (segment id, start, end) in text order."""
        q = (
            sa.select(
                t.segments.c.document_id, t.segments.c.id, t.segments.c.start, t.segments.c.end
            )
            .where(t.segments.c.kind == "sentence", t.segments.c.document_id.in_(list(doc_ids)))
            .order_by(t.segments.c.start, t.segments.c.id)
        )
        out: dict[int, list[tuple[int, int, int]]] = {}
        with self.engine.connect() as conn:
            for d, i, s, e in conn.execute(q):
                out.setdefault(int(d), []).append((int(i), int(s), int(e)))
        return out

    # -- streamed reads (the Parquet export) -----------------------------------------------
    @staticmethod
    def columns(table: str) -> list[Column]:
        """The columns of a stored table, in order."""
        return [Column(c.name, _kind(c), bool(c.nullable)) for c in t.metadata.tables[table].c]

    @contextlib.contextmanager
    def streamed(self, table: str, size: int) -> Iterator[Iterator[Sequence[Any]]]:
        """The rows of ``table`` in primary-key order, as chunks of up to ``size`` rows read
        as they are asked for (one chunk in memory); rows are tuples in ``columns`` order
        that also name them (``row.document_id``)."""
        tab = t.metadata.tables[table]
        query = sa.select(tab).order_by(*tab.primary_key.columns)
        with self.engine.connect() as conn:
            yield conn.execution_options(yield_per=size).execute(query).partitions()

    @contextlib.contextmanager
    def streamed_sentences(self, size: int) -> Iterator[Iterator[Sequence[Any]]]:
        """(segment_id, document_id, idx) of the active documents' sentences in id order, as
        chunks of up to ``size`` rows."""
        query = (
            sa.select(
                t.segments.c.id.label("segment_id"), t.segments.c.document_id, t.segments.c.idx
            )
            .join(t.documents, t.documents.c.id == t.segments.c.document_id)
            .where(t.segments.c.kind == "sentence", t.documents.c.active.is_(True))
            .order_by(t.segments.c.id)
        )
        with self.engine.connect() as conn:
            yield conn.execution_options(yield_per=size).execute(query).partitions()
