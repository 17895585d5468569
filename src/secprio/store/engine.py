"""Open a store by URL and bring its schema to the newest migration."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
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


def connect(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///file.db`` or ``postgresql+psycopg://...``), migrated."""
    if url.startswith(("postgresql://", "postgres://")):  # psycopg 3, not the psycopg2 default
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        engine = sa.create_engine(url, future=True)
    except Exception as exc:  # sqlalchemy raises several types for a bad URL
        raise StoreError(
            f"cannot open store {url!r}: {exc}",
            hint="use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db",
        ) from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        upgrade(engine)
    except sa.exc.OperationalError as exc:  # a server that is down, a wrong password, ...
        raise StoreError(
            f"cannot open store {engine.url.render_as_string(hide_password=True)!r}: "
            f"{str(exc.orig).strip().splitlines()[0]}",
            hint="check that the database server runs and the URL's user, password and "
            "database are right",
        ) from exc
    return engine


def upgrade(engine: Engine) -> None:
    """Apply every pending migration; a new store gets the whole schema."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
