"""The watch state in the store (tables ``watch_*``, migration 0005; docs/watch.md).

``secprio watch`` remembers between cycles: the validators and sitemap lastmods of the remote
URLs (``watch_urls``), each cycle and its steps (``watch_cycles``), the documents a completed
shift test saw (``watch_seen``), the digests with their records (``watch_digests``) and every
delivery (``watch_deliveries``). Each record is written in the transaction that makes it true
where the effect is in the store (a completed test and the documents it saw; a digest's record
and its status), and right after the effect where it is outside (files on disk, a POST, a
mail): the order is chosen so that a kill at any point is resumed without a duplicate, except
the one documented for deliveries.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from secprio.store import schema as t

CHUNK = 500  # values in one IN (...): SQLite allows 32,766 parameters a statement


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class Urls:
    """The validators (``url -> {"etag", "last_modified"}``) and sitemap lastmods
    (``url -> lastmod``) of the remote URLs, as ``ingest/watched.py`` updates them in place;
    :meth:`save` writes what changed since the last save in one transaction."""

    engine: Engine
    validators: dict[str, dict[str, str]] = field(default_factory=dict)
    lastmod: dict[str, str] = field(default_factory=dict)
    _saved: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)

    def rows(self) -> dict[str, tuple[str | None, str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None, str | None]] = {}
        for url in {*self.validators, *self.lastmod}:
            v = self.validators.get(url, {})
            out[url] = (v.get("etag") or None, v.get("last_modified") or None,
                        self.lastmod.get(url) or None)  # fmt: skip
        return {u: r for u, r in out.items() if any(r)}

    def save(self) -> None:
        now = self.rows()
        changed = [u for u, r in now.items() if self._saved.get(u) != r]
        gone = [u for u in self._saved if u not in now]
        if not changed and not gone:
            return
        with self.engine.begin() as conn:
            stale = changed + gone
            for i in range(0, len(stale), CHUNK):  # a sitemap lists up to 50,000 pages
                conn.execute(
                    t.watch_urls.delete().where(t.watch_urls.c.url.in_(stale[i : i + CHUNK]))
                )
            if changed:
                at = _now()
                conn.execute(
                    t.watch_urls.insert(),
                    [{"url": u, "etag": now[u][0], "last_modified": now[u][1],
                      "lastmod": now[u][2], "updated_at": at} for u in changed],
                )  # fmt: skip
        self._saved = now


@dataclass(frozen=True)
class Last:
    """The newest completed cycle: its key, coder, time, and the link pairs of the newest
    cycle that set them (None: no cycle set them yet)."""

    key: str
    coder: str
    at: dt.datetime | None
    links: list[str] | None


@dataclass(frozen=True)
class Digest:
    id: int
    key: str
    path: str
    status: str  # writing | written
    record: dict[str, Any] | None


class WatchStore:
    engine: Engine

    # -- remote URLs -----------------------------------------------------------------------
    def watch_urls(self) -> Urls:
        urls = Urls(self.engine)
        with self.engine.connect() as conn:
            for url, etag, modified, lastmod in conn.execute(
                sa.select(t.watch_urls.c.url, t.watch_urls.c.etag, t.watch_urls.c.last_modified,
                          t.watch_urls.c.lastmod)
            ):  # fmt: skip
                v = {k: str(x) for k, x in (("etag", etag), ("last_modified", modified)) if x}
                if v:
                    urls.validators[str(url)] = v
                if lastmod:
                    urls.lastmod[str(url)] = str(lastmod)
        urls._saved = urls.rows()
        return urls

    # -- cycles ----------------------------------------------------------------------------
    def start_cycle(self) -> int:
        """A new cycle (status running). A cycle killed earlier stays ``running`` with the
        steps it recorded: a record of where it stopped; its effects are resumed by this one."""
        with self.engine.begin() as conn:
            row = conn.execute(
                t.watch_cycles.insert().values(status="running", coder="", steps={},
                                               started_at=_now())
            )  # fmt: skip
            key = row.inserted_primary_key
            assert key is not None
            return int(key[0])

    def cycle_step(self, cycle_id: int, step: str, **facts: object) -> None:
        """Record that ``step`` of the cycle is done, with its counts."""
        with self.engine.begin() as conn:
            self._step(conn, cycle_id, step, facts)

    @staticmethod
    def _step(conn: sa.Connection, cycle_id: int, step: str, facts: dict[str, object]) -> None:
        steps = conn.execute(
            sa.select(t.watch_cycles.c.steps).where(t.watch_cycles.c.id == cycle_id)
        ).scalar()
        steps = {**(steps or {}), step: {"at": _now().isoformat(timespec="seconds"), **facts}}
        conn.execute(
            t.watch_cycles.update().where(t.watch_cycles.c.id == cycle_id).values(steps=steps)
        )

    def end_cycle(self, cycle_id: int, status: str, **facts: object) -> None:
        """A cycle that ended without a completed test (``failed``: the next run tries
        again; ``quiet``: nothing to test)."""
        with self.engine.begin() as conn:
            self._step(conn, cycle_id, "end", {"status": status, **facts})
            conn.execute(
                t.watch_cycles.update()
                .where(t.watch_cycles.c.id == cycle_id)
                .values(status=status, finished_at=_now())
            )

    def complete_cycle(
        self, cycle_id: int, *, key: str, coder: str, documents: Iterable[int],
        links: list[str] | None, significant: int,
    ) -> None:  # fmt: skip
        """The shift test of this cycle is done and every delivery of its digest: in one
        transaction, the cycle becomes the last completed test and the documents it saw are
        recorded as seen (so the next test's new documents are the others)."""
        with self.engine.begin() as conn:
            seen = set(conn.execute(sa.select(t.watch_seen.c.document_id)).scalars())
            rows = [{"document_id": d, "cycle_id": cycle_id} for d in documents if d not in seen]
            if rows:
                conn.execute(t.watch_seen.insert(), rows)
            self._step(conn, cycle_id, "complete", {"documents_seen": len(rows)})
            conn.execute(
                t.watch_cycles.update()
                .where(t.watch_cycles.c.id == cycle_id)
                .values(status="complete", key=key, coder=coder, links=links,
                        significant=significant, finished_at=_now())
            )  # fmt: skip

    def last_cycle(self) -> Last | None:
        c = t.watch_cycles.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(c.key, c.coder, c.finished_at)
                .where(c.status == "complete")
                .order_by(c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            links = conn.execute(
                sa.select(c.links)
                .where(c.status == "complete", c.links.is_not(None))
                .order_by(c.id.desc())
                .limit(1)
            ).scalar()
        return Last(str(row[0]), str(row[1]), row[2], list(links) if links is not None else None)

    def seen_documents(self) -> set[int]:
        with self.engine.connect() as conn:
            return {int(d) for d in conn.execute(sa.select(t.watch_seen.c.document_id)).scalars()}

    # -- digests ---------------------------------------------------------------------------
    def digest(self, key: str) -> Digest | None:
        c = t.watch_digests.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(c.id, c.key, c.path, c.status, c.record).where(c.key == key)
            ).first()
        return Digest(int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4]) if row else None

    def claimed_paths(self) -> set[str]:
        with self.engine.connect() as conn:
            return {str(p) for p in conn.execute(sa.select(t.watch_digests.c.path)).scalars()}

    def claim_digest(self, key: str, path: str, significant: int) -> Digest:
        """The digest of cycle ``key``: the one claimed before (a rerun writes the same files
        again), else a new row ``writing`` at ``path``. A digest claimed by a cycle that was
        killed before writing it, and whose documents have changed since, is dropped."""
        c = t.watch_digests.c
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(c.id, c.path, c.status, c.record).where(c.key == key)
            ).first()
            if row is not None:
                return Digest(int(row[0]), key, str(row[1]), str(row[2]), row[3])
            conn.execute(t.watch_digests.delete().where(c.status == "writing", c.key != key))
            new = conn.execute(
                t.watch_digests.insert().values(key=key, path=path, status="writing",
                                                significant=significant, created_at=_now())
            )  # fmt: skip
            ident = new.inserted_primary_key
            assert ident is not None
            return Digest(int(ident[0]), key, path, "writing", None)

    def digest_written(self, digest_id: int, record: dict[str, Any], cycle_id: int) -> None:
        """The digest's files are on disk: its record is kept and it counts as written, in
        one transaction with the cycle's step."""
        with self.engine.begin() as conn:
            conn.execute(
                t.watch_digests.update()
                .where(t.watch_digests.c.id == digest_id)
                .values(status="written", record=record, written_at=_now())
            )
            self._step(conn, cycle_id, "digest", {"digest_id": digest_id})

    def digests(self) -> list[tuple[str, dict[str, Any]]]:
        """The written digests (path of the Markdown file, record), oldest first."""
        c = t.watch_digests.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.path, c.record).where(c.status == "written").order_by(c.id)
            ).all()
        return [(str(p), r) for p, r in rows if isinstance(r, dict)]

    def add_digest_record(self, key: str, path: str, record: dict[str, Any]) -> None:
        """A written digest from outside a cycle (an imported state, a test's fixture)."""
        with self.engine.begin() as conn:
            self._add_digest(conn, key, path, record)

    @staticmethod
    def _add_digest(conn: sa.Connection, key: str, path: str, record: dict[str, Any] | None) -> int:
        shifts = (record or {}).get("shifts")
        row = conn.execute(
            t.watch_digests.insert().values(
                key=key, path=path, status="written", record=record,
                significant=len(shifts) if isinstance(shifts, list) else 0,
                created_at=_now(), written_at=_now())
        )  # fmt: skip
        ident = row.inserted_primary_key
        assert ident is not None
        return int(ident[0])

    # -- deliveries ------------------------------------------------------------------------
    def delivery_key(self, cycle_key: str) -> str:
        """The Idempotency-Key (and Message-ID part) of a cycle's delivery: the cycle key and
        this store's own random id, so two projects with the same documents do not share one."""
        c = t.watch_meta.c
        with self.engine.begin() as conn:
            mine = conn.execute(sa.select(c.value).where(c.name == "instance")).scalar()
            if mine is None:
                mine = secrets.token_hex(6)
                conn.execute(t.watch_meta.insert().values(name="instance", value=mine))
        return f"{cycle_key}-{mine}"

    def delivery_begin(self, digest_id: int, target: str, idempotency_key: str) -> str | None:
        """Before a send: None when ``target`` already has this digest (sent), else the
        status of the previous attempt (``""``: none; ``sending``: one was interrupted, so
        the receiver may have it) after recording this attempt as ``sending``."""
        c = t.watch_deliveries.c
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(c.id, c.status, c.attempts).where(c.digest_id == digest_id,
                                                            c.target == target)
            ).first()  # fmt: skip
            if row is not None and row[1] == "sent":
                return None
            if row is None:
                conn.execute(
                    t.watch_deliveries.insert().values(
                        digest_id=digest_id, target=target, status="sending", attempts=1,
                        idempotency_key=idempotency_key, error="", started_at=_now())
                )  # fmt: skip
                return ""
            conn.execute(
                t.watch_deliveries.update()
                .where(c.id == row[0])
                .values(status="sending", attempts=int(row[2]) + 1, started_at=_now())
            )
            return str(row[1])

    def delivery_end(self, digest_id: int, target: str, *, error: str = "") -> None:
        """After a send: ``sent``, or ``failed`` with the reason (the next run tries again)."""
        c = t.watch_deliveries.c
        with self.engine.begin() as conn:
            conn.execute(
                t.watch_deliveries.update()
                .where(c.digest_id == digest_id, c.target == target)
                .values(status="failed" if error else "sent", error=error,
                        sent_at=None if error else _now())
            )  # fmt: skip

    # -- an older project's watch/state.json -----------------------------------------------
    def imported_state(self) -> bool:
        c = t.watch_meta.c
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(c.value).where(c.name == "state_json")).first()
        return found is not None

    def import_state(
        self, state: dict[str, Any], digests: dict[str, tuple[str, dict[str, Any] | None]],
        source: str,
    ) -> None:  # fmt: skip
        """Import what ``watch/state.json`` (``state``) held, with the digests written so far
        (cycle key -> Markdown path, record), in one transaction, and mark it imported."""

        def part(name: str) -> dict[str, Any]:
            value = state.get(name)
            return value if isinstance(value, dict) else {}

        validators, lastmod, delivered = part("validators"), part("lastmod"), part("delivered")
        urls = Urls(self.engine, {str(u): {k: str(x) for k, x in v.items()
                                           if k in ("etag", "last_modified") and x}
                                  for u, v in validators.items() if isinstance(v, dict)},
                    {str(u): str(m) for u, m in lastmod.items() if m})  # fmt: skip
        now = _now()
        with self.engine.begin() as conn:
            rows = urls.rows()
            conn.execute(t.watch_urls.delete())
            if rows:
                conn.execute(t.watch_urls.insert(),
                             [{"url": u, "etag": r[0], "last_modified": r[1], "lastmod": r[2],
                               "updated_at": now} for u, r in rows.items()])  # fmt: skip
            ids = {}
            for key, (path, record) in digests.items():
                ids[key] = self._add_digest(conn, key, path, record)
            if isinstance(state.get("key"), str):
                links = state.get("links")
                cycle = conn.execute(
                    t.watch_cycles.insert().values(
                        status="complete", key=state["key"], coder=str(state.get("coder", "")),
                        steps={"imported": {"at": now.isoformat(timespec="seconds"),
                                            "from": source, "ran": state.get("at")}},
                        links=links if isinstance(links, list) else None,
                        started_at=now, finished_at=now)
                )  # fmt: skip
                cycle_id = cycle.inserted_primary_key
                assert cycle_id is not None
                docs = {int(d) for d in state.get("documents", []) if isinstance(d, int)}
                exist = set(conn.execute(sa.select(t.documents.c.id)).scalars())
                if docs & exist:
                    conn.execute(t.watch_seen.insert(),
                                 [{"document_id": d, "cycle_id": int(cycle_id[0])}
                                  for d in sorted(docs & exist)])  # fmt: skip
            for key, targets in delivered.items():
                if key not in ids or not isinstance(targets, list):
                    continue
                conn.execute(t.watch_deliveries.insert(), [
                    {"digest_id": ids[key], "target": str(x), "status": "sent", "attempts": 1,
                     "idempotency_key": key, "error": "", "started_at": now, "sent_at": now}
                    for x in dict.fromkeys(targets)])  # fmt: skip
            conn.execute(t.watch_meta.insert().values(name="state_json", value=source))
