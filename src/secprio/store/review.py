"""Store methods of the review workspace: users, sessions, audit, assignments, decisions.

Mixed into ``Store``. A decision is one person's labels for one sentence (every category: 1
applied, 0 rejected), appended to ``decisions`` as the next version of that person's state
there. Open decisions also replace the person's human codings of the sentence, so they win
over machine codings; blind ones stay in ``decisions`` until an adjudication stores the
result. Every change writes its audit row in the same transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from secprio.errors import ConflictError, StoreError
from secprio.store import schema as t

ROLES = ("admin", "coder", "viewer")
LOCK_RETRIES = 40  # SQLite: a writer that finds the file locked waits and tries again


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _audit(conn: sa.Connection, actor: str, action: str, target: str, **detail: Any) -> None:
    conn.execute(
        t.audit.insert().values(at=_now(), user=actor, action=action, target=target, detail=detail)
    )


def _locked(exc: sa.exc.OperationalError) -> bool:
    return "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower()


class ReviewStore:
    engine: Engine
    _writers: threading.Lock  # made by Store.__init__

    def _one_writer(self) -> contextlib.AbstractContextManager[object]:
        """SQLite: this process's writers take turns on a lock (first come, first served)
        instead of polling SQLite's file lock with growing sleeps, which made a decision wait
        up to seconds under load. PostgreSQL locks rows itself: no lock here."""
        if self.engine.dialect.name == "sqlite":
            return self._writers
        return contextlib.nullcontext()

    # -- users -----------------------------------------------------------------------------
    def add_user(self, name: str, password_hash: str, role: str, *, actor: str) -> int:
        if role not in ROLES:
            raise StoreError(
                f"unknown role {role!r}", hint=f"use one of: {', '.join(ROLES)}", code="E411"
            )
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    t.users.insert().values(
                        name=name,
                        password_hash=password_hash,
                        role=role,
                        active=True,
                        created_at=_now(),
                    )
                )
                _audit(conn, actor, "user.add", name, role=role)
        except sa.exc.IntegrityError as exc:
            raise StoreError(
                f"a user named {name!r} already exists",
                hint="choose another name",
                code="E409",
            ) from exc
        key = row.inserted_primary_key
        assert key is not None
        return int(key[0])

    def user(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).mappings().first()
        return dict(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        q = sa.select(
            t.users.c.id, t.users.c.name, t.users.c.role, t.users.c.active, t.users.c.created_at
        ).order_by(t.users.c.name)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def update_user(self, name: str, *, actor: str, **values: Any) -> None:
        """Change a user's role, active flag or password hash."""
        if not values:
            raise StoreError(
                f"nothing to change for {name!r}",
                hint="give a role, active or password",
                code="E408",
            )
        if "role" in values and values["role"] not in ROLES:
            raise StoreError(
                f"unknown role {values['role']!r}", hint=f"use one of: {ROLES}", code="E407"
            )
        with self.engine.begin() as conn:
            done = conn.execute(t.users.update().where(t.users.c.name == name).values(**values))
            if not done.rowcount:
                raise StoreError(f"no user named {name!r}", hint="check the name", code="E406")
            shown = {k: v for k, v in values.items() if k != "password_hash"}
            _audit(conn, actor, "user.update", name, **shown, password="password_hash" in values)
            if values.get("active") is False or "password_hash" in values:
                uid = sa.select(t.users.c.id).where(t.users.c.name == name).scalar_subquery()
                conn.execute(t.sessions.delete().where(t.sessions.c.user_id == uid))

    # -- sessions --------------------------------------------------------------------------
    def add_session(self, token_sha256: str, user_id: int, csrf: str, ttl: dt.timedelta) -> None:
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.expires_at < now))
            conn.execute(
                t.sessions.insert().values(
                    token_sha256=token_sha256,
                    user_id=user_id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )

    def session(self, token_sha256: str) -> dict[str, Any] | None:
        """The live session's user (id, name, role) and CSRF token; None if expired or gone."""
        q = (
            sa.select(t.users.c.id, t.users.c.name, t.users.c.role, t.sessions.c.csrf)
            .join(t.users, t.users.c.id == t.sessions.c.user_id)
            .where(
                t.sessions.c.token_sha256 == token_sha256,
                t.sessions.c.expires_at > _now(),
                t.users.c.active.is_(True),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return dict(row) if row else None

    def drop_session(self, token_sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.token_sha256 == token_sha256))

    # -- audit -----------------------------------------------------------------------------
    def audit(self, action: str, target: str, *, actor: str, **detail: Any) -> None:
        with self.engine.begin() as conn:
            _audit(conn, actor, action, target, **detail)

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        q = sa.select(t.audit).order_by(t.audit.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- decisions -------------------------------------------------------------------------
    def decide(
        self,
        segment_id: int,
        coder: str,
        labels: Mapping[str, int],
        *,
        expected: int,
        memo: str = "",
        queue: str = "reader",
        assignment_id: int | None = None,
        blind: bool = False,
        undo: bool = False,
        actor: str | None = None,
    ) -> int:
        """Store ``labels`` as version ``expected + 1`` of ``coder``'s decision on the sentence.

        Raises ConflictError (with the current version) when the coder's state there is no
        longer ``expected``: a concurrent decision won, and this one is not stored.
        """
        for attempt in range(LOCK_RETRIES):
            try:
                with self._one_writer():
                    return self._decide(
                        segment_id,
                        coder,
                        dict(labels),
                        expected=expected,
                        memo=memo,
                        queue=queue,
                        assignment_id=assignment_id,
                        blind=blind,
                        undo=undo,
                        actor=actor or coder,
                    )
            except sa.exc.IntegrityError as exc:
                current = self.decision_version(segment_id, coder)
                raise ConflictError(
                    f"sentence {segment_id} was decided by {coder} meanwhile "
                    f"(version {current}, you saw {expected})",
                    current=current,
                ) from exc
            except sa.exc.OperationalError as exc:
                if not _locked(exc) or attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    def _decide(
        self,
        segment_id: int,
        coder: str,
        labels: dict[str, int],
        *,
        expected: int,
        memo: str,
        queue: str,
        assignment_id: int | None,
        blind: bool,
        undo: bool,
        actor: str,
    ) -> int:
        d = t.decisions.c
        with self.engine.begin() as conn:
            # the insert comes first: it takes SQLite's write lock before anything is read,
            # and the unique (segment, coder, version) refuses a second writer of this version
            conn.execute(
                t.decisions.insert().values(
                    segment_id=segment_id,
                    coder=coder,
                    version=expected + 1,
                    labels=labels,
                    memo=memo,
                    queue=queue,
                    assignment_id=assignment_id,
                    undo=undo,
                    at=_now(),
                )
            )
            if expected > 0:
                seen = sa.select(d.id).where(
                    d.segment_id == segment_id, d.coder == coder, d.version == expected
                )
                if conn.execute(seen).first() is None:
                    raise ConflictError(
                        f"sentence {segment_id} has no version {expected} by {coder}",
                        current=0,
                    )
            if not blind:
                self._replace_codings(
                    conn, segment_id, coder, labels, memo=memo, version=expected + 1, queue=queue
                )
            _audit(
                conn,
                actor,
                "undo" if undo else "decide",
                f"seg:{segment_id}",
                coder=coder,
                version=expected + 1,
                labels=labels,
                memo=memo,
                queue=queue,
                assignment=assignment_id,
            )
        return expected + 1

    @staticmethod
    def _replace_codings(
        conn: sa.Connection,
        segment_id: int,
        coder: str,
        labels: Mapping[str, int],
        *,
        memo: str,
        version: int,
        queue: str,
    ) -> None:
        c = t.codings.c
        conn.execute(
            t.codings.delete().where(
                c.segment_id == segment_id, c.coder == coder, c.source == "human"
            )
        )
        now = _now()
        rows = [
            {
                "segment_id": segment_id,
                "category": cat,
                "coder": coder,
                "coder_version": "review",
                "source": "human",
                "run_id": None,
                "value": int(v),
                "confidence": 1.0,
                "pattern": "",
                "start": -1,
                "end": -1,
                "evidence": {"memo": memo, "version": version, "queue": queue},
                "created_at": now,
            }
            for cat, v in labels.items()
        ]
        if rows:
            conn.execute(t.codings.insert(), rows)

    def undo(
        self,
        segment_id: int,
        coder: str,
        *,
        version: int,
        blind: bool = False,
        actor: str | None = None,
    ) -> int:
        """Undo decision ``version``: store the state before it as the next version."""
        before = self.decision_at(segment_id, coder, version - 1) if version > 1 else None
        labels = before["labels"] if before else {}
        memo = before["memo"] if before else ""
        return self.decide(
            segment_id,
            coder,
            labels,
            expected=version,
            memo=memo,
            queue="undo",
            blind=blind,
            undo=True,
            actor=actor,
        )

    def decision_version(self, segment_id: int, coder: str) -> int:
        d = t.decisions.c
        q = sa.select(sa.func.max(d.version)).where(d.segment_id == segment_id, d.coder == coder)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def decision_at(self, segment_id: int, coder: str, version: int) -> dict[str, Any] | None:
        d = t.decisions.c
        q = sa.select(t.decisions).where(
            d.segment_id == segment_id, d.coder == coder, d.version == version
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return dict(row) if row else None

    def latest_decisions(
        self,
        *,
        coders: Sequence[str] | None = None,
        segment_ids: Iterable[int] | None = None,
        assignment_id: int | None = None,
        queue: str | None = None,
        empty: bool = False,
    ) -> list[dict[str, Any]]:
        """Each (sentence, coder)'s newest decision; one undone to nothing only if ``empty``;
        ``queue``: only those whose newest decision was made in that queue."""
        d = t.decisions.c
        newest = sa.select(d.segment_id, d.coder, sa.func.max(d.version).label("v")).group_by(
            d.segment_id, d.coder
        )
        if coders is not None:
            newest = newest.where(d.coder.in_(list(coders)))
        if segment_ids is not None:
            newest = newest.where(d.segment_id.in_(list(segment_ids)))
        if assignment_id is not None:
            newest = newest.where(d.assignment_id == assignment_id)
        sub = newest.subquery()
        q = sa.select(t.decisions).join(
            sub,
            (d.segment_id == sub.c.segment_id) & (d.coder == sub.c.coder) & (d.version == sub.c.v),
        )
        if queue is not None:
            q = q.where(d.queue == queue)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings()]
        return [r for r in rows if r["labels"] or empty]

    # -- assignments -----------------------------------------------------------------------
    def add_assignment(
        self,
        name: str,
        coders: Sequence[str],
        segment_ids: Sequence[int],
        *,
        blind: bool,
        actor: str,
    ) -> int:
        with self.engine.begin() as conn:
            row = conn.execute(
                t.assignments.insert().values(
                    name=name, blind=blind, status="open", created_by=actor, created_at=_now()
                )
            )
            key = row.inserted_primary_key
            assert key is not None
            aid = int(key[0])
            conn.execute(
                t.assignment_items.insert(),
                [
                    {"assignment_id": aid, "segment_id": s, "coder": c, "position": i}
                    for c in coders
                    for i, s in enumerate(segment_ids)
                ],
            )
            _audit(
                conn,
                actor,
                "assignment.add",
                f"assignment:{aid}",
                name=name,
                coders=list(coders),
                sentences=len(segment_ids),
                blind=blind,
            )
        return aid

    def assignments(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = [
                dict(r)
                for r in conn.execute(
                    sa.select(t.assignments).order_by(t.assignments.c.id)
                ).mappings()
            ]
            items = conn.execute(
                sa.select(t.assignment_items.c.assignment_id, t.assignment_items.c.coder)
            ).all()
        for r in rows:
            r["coders"] = sorted({c for a, c in items if a == r["id"]})
        return rows

    def assignment(self, assignment_id: int) -> dict[str, Any] | None:
        return next((a for a in self.assignments() if a["id"] == assignment_id), None)

    def assignment_segments(self, assignment_id: int, coder: str | None = None) -> list[int]:
        """The assignment's sentences in order (one coder's, or all of them)."""
        i = t.assignment_items.c
        q = sa.select(i.segment_id).where(i.assignment_id == assignment_id)
        if coder is not None:
            q = q.where(i.coder == coder)
        q = q.group_by(i.segment_id).order_by(sa.func.min(i.position))
        with self.engine.connect() as conn:
            return [int(s) for s in conn.execute(q).scalars()]

    def set_assignment_status(self, assignment_id: int, status: str, *, actor: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.assignments.update()
                .where(t.assignments.c.id == assignment_id)
                .values(status=status)
            )
            _audit(conn, actor, "assignment.status", f"assignment:{assignment_id}", status=status)

    # -- reads for the reader --------------------------------------------------------------
    def document(self, doc_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(t.documents).where(t.documents.c.id == doc_id))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def is_sentence(self, segment_id: int) -> bool:
        """Whether a sentence of that id exists (one indexed lookup; no text is read)."""
        s = t.segments.c
        q = sa.select(s.id).where(s.id == segment_id, s.kind == "sentence")
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def sentences_of(self, segment_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Sentences by id, in the order given: id, document, offsets, text, language, title."""
        ids = list(dict.fromkeys(int(s) for s in segment_ids))
        if not ids:
            return []
        s, d = t.segments.c, t.documents.c
        q = sa.select(s.id, s.document_id, s.idx, s.paragraph, s.start, s.end).where(
            s.id.in_(ids), s.kind == "sentence"
        )
        with self.engine.connect() as conn:
            segs = {int(r.id): dict(r._mapping) for r in conn.execute(q)}
            doc_ids = sorted({r["document_id"] for r in segs.values()})
            docs = {
                int(r.id): r
                for r in conn.execute(
                    sa.select(d.id, d.text, d.title, d.language, d.path).where(d.id.in_(doc_ids))
                )
            }
        out = []
        for i in ids:
            if i in segs:
                r, doc = segs[i], docs[segs[i]["document_id"]]
                r.update(
                    text=doc.text[r["start"] : r["end"]],
                    title=doc.title or doc.path,
                    language=doc.language,
                )
                out.append(r)
        return out

    def document_sentence_ids(self, doc_id: int) -> list[int]:
        s = t.segments.c
        q = sa.select(s.id).where(s.document_id == doc_id, s.kind == "sentence").order_by(s.idx)
        with self.engine.connect() as conn:
            return [int(i) for i in conn.execute(q).scalars()]

    def codings_of(self, segment_ids: Sequence[int]) -> list[dict[str, Any]]:
        ids = list(segment_ids)
        if not ids:
            return []
        q = sa.select(t.codings).where(t.codings.c.segment_id.in_(ids)).order_by(t.codings.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def search_documents(self, text: str) -> list[int]:
        """Active documents whose text contains ``text`` (case-insensitive)."""
        d = t.documents.c
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = sa.select(d.id).where(d.active.is_(True), d.text.ilike(f"%{escaped}%", escape="\\"))
        with self.engine.connect() as conn:
            return [int(i) for i in conn.execute(q).scalars()]
