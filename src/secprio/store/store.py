"""The Store: every read and write of documents, runs and codings goes through it."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import operator
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from secprio import __version__
from secprio.errors import StoreError
from secprio.model import Coding, Document, Segments, Skipped, Unit
from secprio.store import schema as t
from secprio.store.bulk import delete_many, insert_many
from secprio.store.carry import CarryReport, carry
from secprio.store.engine import connect
from secprio.store.reads import ReadStore
from secprio.store.review import ReviewStore
from secprio.store.watch import WatchStore

AddStatus = Literal["added", "unchanged", "version"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _new_id(result: sa.CursorResult[object]) -> int:
    key = result.inserted_primary_key
    assert key is not None  # an INSERT into a table with an integer primary key
    return int(key[0])


def run_key(**parts: object) -> str:
    """A fingerprint of what a run computes: same key, same codings, so it can resume."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class Store(ReadStore, ReviewStore, WatchStore):
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = connect(url)
        self._writers = threading.Lock()
        self._holding = threading.local()  # how deep this thread is inside lock()
        self._snap = threading.local()  # the connection of this thread's snapshot()

    @contextlib.contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold the project's writer lock while ``what`` runs; a second writer (another
        ``secprio code``, ``ingest``, ``import-gold`` or ``import-qdpx`` on the same store) is
        refused with a clear message instead of both writing the same rows. A stage that
        holds it may run another inside (``import-qdpx`` ingests the documents it brings)."""
        depth = getattr(self._holding, "depth", 0)
        self._holding.depth = depth + 1
        try:
            if depth:
                yield
            else:
                with self._lock(what):
                    yield
        finally:
            self._holding.depth = depth

    @contextlib.contextmanager
    def _lock(self, what: str) -> Iterator[None]:
        if self.engine.dialect.name == "postgresql":
            with self._pg_lock(what):
                yield
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with _file_lock(Path(f"{database}.lock"), what):
            yield

    @contextlib.contextmanager
    def _pg_lock(self, what: str) -> Iterator[None]:
        # An advisory lock is per database and held by a session: a writer killed with -9
        # (or a machine lost) drops its connection, and the server releases the lock.
        key = int(hashlib.sha256(b"secprio-writer").hexdigest()[:15], 16)
        with self.engine.connect() as conn:
            if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                raise _busy(what, self.url, _pg_holder(conn, key))
            # what this session does, for the writer refused meanwhile (pg_stat_activity)
            conn.execute(sa.text("SELECT set_config('application_name', :n, false)"),
                         {"n": f"secprio: pid {os.getpid()}, {what}"[:63]})  # fmt: skip
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    # -- documents -------------------------------------------------------------------------
    def add_document(
        self, doc: Document, *, carried: CarryReport | None = None
    ) -> tuple[int, AddStatus]:
        """Store a document; a new version of a stored path takes the human codings of the
        version it replaces along, in the same transaction (see store/carry.py)."""
        with self.engine.begin() as conn:
            found = conn.execute(_BY_SHA256, {"sha256": doc.sha256}).scalar()
            if found is not None:
                return int(found), "unchanged"
            prior = conn.execute(_NEWEST_VERSION, {"path": doc.path}).scalar()
            current = conn.execute(_ACTIVE_VERSION, {"path": doc.path}).first()
            if prior:
                conn.execute(_DEACTIVATE, {"of_path": doc.path})
            doc_id = self._insert_document(conn, doc, version=(prior or 0) + 1)
            if current is not None:
                carry(conn, old_id=int(current[0]), new_id=doc_id, old_text=str(current[1]),
                      new_text=doc.text, report=carried)  # fmt: skip
        return doc_id, ("version" if prior else "added")

    def _insert_document(self, conn: sa.Connection, doc: Document, *, version: int) -> int:
        m = doc.meta
        values = dict(
            path=doc.path,
            sha256=doc.sha256,
            version=version,
            active=True,
            title=m.title,
            date=m.date.isoformat() if m.date else None,
            year=m.date.year if m.date else None,
            doc_type=m.doc_type,
            issuer=m.issuer,
            members=";".join(m.members),
            language=m.language,
            url=m.url,
            extra=json.loads(json.dumps(m.extra, default=str)),
            text=doc.text,
            ingested_at=_now(),
        )
        row = conn.execute(_INSERT_DOCUMENT, values)
        doc_id = _new_id(row)
        segments = (
            doc.segments.rows(doc_id)
            if isinstance(doc.segments, Segments)
            else [(doc_id, s.kind, s.index, s.start, s.end, s.paragraph) for s in doc.segments]
        )
        insert_many(conn, t.segments, SEGMENT_COLUMNS, segments)  # in the segments' order: ids
        return doc_id

    def known_hashes(self) -> set[str]:
        """SHA-256 of every stored document version."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.documents.c.sha256)).scalars())

    def record_skipped(self, run_id: int | None, items: Iterable[Skipped]) -> None:
        rows = [{"run_id": run_id, "path": s.path, "reason": s.reason} for s in items]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(t.skipped.insert(), rows)

    # -- runs ------------------------------------------------------------------------------
    def start_run(
        self,
        kind: str,
        *,
        key: str,
        coder: str = "",
        coder_version: str = "",
        codebook_sha256: str = "",
        settings: dict[str, object] | None = None,
    ) -> int:
        """Reuse an unfinished run with the same key (resume), else open a new one."""
        with self.engine.begin() as conn:
            open_run = conn.execute(
                sa.select(t.runs.c.id).where(t.runs.c.key == key, t.runs.c.status == "running")
            ).scalar()
            if open_run is not None:
                return int(open_run)
            row = conn.execute(
                t.runs.insert().values(
                    kind=kind,
                    key=key,
                    coder=coder,
                    coder_version=coder_version,
                    codebook_sha256=codebook_sha256,
                    settings=settings or {},
                    package_version=__version__,
                    status="running",
                    started_at=_now(),
                )
            )
            return _new_id(row)

    def finish_run(self, run_id: int, status: str = "complete") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.runs.update()
                .where(t.runs.c.id == run_id)
                .values(status=status, finished_at=_now())
            )

    def pending_documents(self, key: str) -> list[int]:
        """Active documents not yet committed by any run with this key."""
        done = (
            sa.select(t.run_documents.c.document_id)
            .join(t.runs, t.runs.c.id == t.run_documents.c.run_id)
            .where(t.runs.c.key == key)
        )
        q = (
            sa.select(t.documents.c.id)
            .where(t.documents.c.active.is_(True), t.documents.c.id.not_in(done))
            .order_by(t.documents.c.id)
        )
        with self.engine.connect() as conn:
            return [int(r) for r in conn.execute(q).scalars()]

    def units(self, doc_ids: Sequence[int]) -> list[Unit]:
        """The sentences of these documents, as coder input."""
        ids = list(doc_ids)
        docs = sa.select(t.documents.c.id, t.documents.c.text, t.documents.c.language).where(
            t.documents.c.id.in_(ids)
        )
        sents = (
            sa.select(t.segments.c.id, t.segments.c.document_id, t.segments.c.start,
                      t.segments.c.end)
            .where(t.segments.c.document_id.in_(ids), t.segments.c.kind == "sentence")
            .order_by(t.segments.c.id)
        )  # fmt: skip
        with self.engine.connect() as conn:
            # one read of each document's text: joining it onto every sentence row would copy
            # the whole text once per sentence
            texts = {int(i): (str(text), str(lang), str(i)) for i, text, lang in conn.execute(docs)}
            rows = conn.execute(sents).all()  # one fetch, not one per row
        out = []
        for i, d, s, e in rows:
            text, lang, key = texts[d]
            out.append(Unit(int(i), text[s:e], lang, key))
        return out

    def save_batch(
        self, run_id: int, *, coder: str, doc_ids: Sequence[int], codings: Iterable[Coding]
    ) -> int:
        """Replace this coder's machine codings on these documents, atomically with progress."""
        # one time for the batch, committed as one: a clock read per row cost more than the
        # row's insert on this machine (a machine coder has one coding per cell: no ties)
        rows = _coding_rows(codings, run_id=run_id, source="machine", at=_now())
        seg_ids = sa.select(t.segments.c.id).where(t.segments.c.document_id.in_(list(doc_ids)))
        with self.engine.begin() as conn:
            conn.execute(
                t.codings.delete().where(
                    t.codings.c.coder == coder,
                    t.codings.c.source == "machine",
                    t.codings.c.segment_id.in_(seg_ids),
                )
            )
            insert_many(conn, t.codings, CODING_COLUMNS, rows)
            insert_many(conn, t.run_documents, ("run_id", "document_id"),
                        [(run_id, d) for d in doc_ids])  # fmt: skip
        return len(rows)

    def add_human(self, codings: Iterable[Coding]) -> int:
        """Store human decisions; a later decision by the same person replaces the earlier."""
        rows = _coding_rows(codings, run_id=None, source="human")
        with self.engine.begin() as conn:
            # the earlier decisions of the same person on the same cells; source "human" in the
            # WHERE: a person's name never hits a coder's codings
            delete_many(conn, t.codings, CODING_COLUMNS[:3], [r[:3] for r in rows], source="human")
            insert_many(conn, t.codings, CODING_COLUMNS, rows)
        return len(rows)


# Statements of add_document, built once: building one costs more than running it, and a
# corpus stores hundreds of thousands of documents (bound parameters, so SQLAlchemy compiles
# each once and caches it).
_BY_SHA256 = sa.select(t.documents.c.id).where(t.documents.c.sha256 == sa.bindparam("sha256"))
_NEWEST_VERSION = sa.select(sa.func.max(t.documents.c.version)).where(
    t.documents.c.path == sa.bindparam("path")
)
_ACTIVE_VERSION = sa.select(t.documents.c.id, t.documents.c.text).where(
    t.documents.c.path == sa.bindparam("path"), t.documents.c.active.is_(True)
)
_DEACTIVATE = (
    t.documents.update().where(t.documents.c.path == sa.bindparam("of_path")).values(active=False)
)
_INSERT_DOCUMENT = t.documents.insert()

SEGMENT_COLUMNS = ("document_id", "kind", "idx", "start", "end", "paragraph")
# segment_id, category, coder first: the cell a human coding replaces (add_human)
CODING_COLUMNS = (
    "segment_id", "category", "coder", "coder_version", "confidence", "pattern", "start", "end",
    "value", "evidence", "run_id", "source", "created_at",
)  # fmt: skip


def _coding_rows(
    codings: Iterable[Coding], *, run_id: int | None, source: str, at: dt.datetime | None = None
) -> list[tuple[object, ...]]:
    """Rows in ``CODING_COLUMNS`` order (field by field: dataclasses.astuple deep-copies),
    created ``at`` that time, else each at its own (human decisions: the later one wins)."""
    if at is None:
        return [(*_CODING_FIELDS(c), run_id, source, _now()) for c in codings]
    return [(*_CODING_FIELDS(c), run_id, source, at) for c in codings]


# the fields of a Coding in CODING_COLUMNS order, read in one C call
_CODING_FIELDS = operator.attrgetter(
    "unit_id", "category", "coder", "coder_version", "confidence", "pattern", "start", "end",
    "value", "evidence",
)  # fmt: skip


def _pg_holder(conn: sa.Connection, key: int) -> str:
    """The application name of the session holding the writer lock ("secprio: pid N, what")."""
    name = conn.execute(
        sa.text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = :hi AND l.objid = :lo"
        ),
        {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
    ).scalar()
    conn.rollback()
    return str(name or "").removeprefix("secprio: ")


def _busy(what: str, where: str, holder: str) -> StoreError:
    by = f" ({holder})" if holder else ""
    return StoreError(
        f"another secprio process is writing to this project's store{by}; {what} did not start",
        path=where,
        hint=f"wait for it to finish, then run {what} again (it resumes where it stopped)",
        code="E402",
    )


@contextlib.contextmanager
def _file_lock(path: Path, what: str) -> Iterator[None]:
    """An exclusive lock on ``path`` (released by the kernel when the process dies)."""
    import fcntl

    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise _busy(what, str(path.with_suffix("")), handle.read().strip()) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, {what}")
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
