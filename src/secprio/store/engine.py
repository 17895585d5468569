"""Open a store by URL and bring its schema to the newest migration."""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from secprio.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    # WAL lets the report read while a coding run writes; foreign keys make deletes cascade.
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", 0) == sqlite3.SQLITE_FULL or "disk is full" in str(
            exc
        )
    return getattr(exc, "sqlstate", "") == "53100"  # PostgreSQL: disk_full


def integrity(url: str) -> str:
    """``ok`` when SQLite's integrity check passes on the store at ``url``, else its report."""
    if not url.startswith("sqlite:///"):
        return "not checked (PostgreSQL keeps committed transactions whole)"
    try:
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as raw:
            rows = raw.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as exc:
        return f"could not be run: {exc}"
    return "; ".join(str(r[0]) for r in rows[:5])


def _on_error(context: sa.engine.ExceptionContext) -> None:
    """A full disk is a StoreError that says whether the store is intact, not a traceback."""
    if not _disk_full(context.original_exception):
        return
    url = str(context.engine.url) if context.engine is not None else ""
    check = integrity(url)
    state = "the store is intact" if check == "ok" else "the store's integrity check reports"
    raise StoreError(
        f"the disk is full: this step was not written and is rolled back; {state}"
        f" (PRAGMA integrity_check: {check})",
        path=url.removeprefix("sqlite:///") or None,
        hint="free disk space, then run the same command again: it resumes where it stopped",
        code="E403",
    ) from context.original_exception


def connect(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///file.db`` or ``postgresql+psycopg://...``), migrated."""
    if url.startswith(("postgresql://", "postgres://")):  # psycopg 3, not the psycopg2 default
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        sqlite = url.startswith("sqlite")
        # a writer waits for another (e.g. a report reading) instead of failing at once
        engine = sa.create_engine(url, future=True, connect_args={"timeout": 60} if sqlite else {})
    except Exception as exc:  # sqlalchemy raises several types for a bad URL
        raise StoreError(
            f"cannot open store {url!r}: {exc}",
            hint="use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db",
            code="E405",
        ) from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "handle_error", _on_error)
    try:
        upgrade(engine)
    except sa.exc.OperationalError as exc:  # a server that is down, a wrong password, ...
        raise StoreError(
            f"cannot open store {engine.url.render_as_string(hide_password=True)!r}: "
            f"{str(exc.orig).strip().splitlines()[0]}",
            hint="check that the database server runs and the URL's user, password and "
            "database are right",
            code="E404",
        ) from exc
    return engine


def upgrade(engine: Engine) -> None:
    """Apply every pending migration; a new store gets the whole schema. A store already at
    the newest revision is left alone without starting Alembic: importing and running it cost
    every command half a second of start-up."""
    head = _head()
    if head is not None and _stored_revision(engine) == head:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_REVISION = re.compile(r'^revision = "(\w+)"$', re.M)
_DOWN = re.compile(r'^down_revision = (?:"(\w+)"|None)$', re.M)


@cache
def _head() -> str | None:
    """The newest revision of migrations/versions, read from the files' ``revision`` and
    ``down_revision`` lines; None (ask Alembic) unless they make one unbranched line."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        if path.name == "__init__.py":
            continue
        text = path.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(rev) != 1 or len(down) != 1:
            return None
        revisions.add(rev[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and len(parents) == len(revisions) - 1 else None


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.ProgrammingError:  # no alembic_version table (PostgreSQL): a new store
        return None
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc):  # SQLite: a new store
            return None
        raise  # the server is down, a wrong password: connect() reports it
    return str(rows[0][0]) if len(rows) == 1 else None
