"""Bulk writes through the DB-API (store/bulk.py) store exactly what SQLAlchemy Core stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from secprio.store import schema as t
from secprio.store.bulk import delete_many, insert_many
from secprio.store.store import CODING_COLUMNS, SEGMENT_COLUMNS, Store
from tests.web_helpers import fresh_postgres

WHEN = dt.datetime(2026, 12, 7, 23, 5, 1)  # microsecond 0: SQLite's text format differs there
SHARED = {"spans": [[0, 5]], "patterns": ["a"]}  # one object in two rows, as a batch's time is
CODINGS: list[tuple[Any, ...]] = [
    (1, "trade", "dictionary", "v1", 1, "trade*", 0, 5, 1, {"hits": ["Trade"]}, 1, "machine",
     WHEN),
    (2, "trade", "dictionary", "v1", 0.25, "", -1, -1, 1, {}, 1, "machine",
     WHEN.replace(microsecond=123456)),
    (2, "energy", "Ayşe", "gold", 1.0, "", -1, -1, 0, {"note": "ünïcode, \"quoted\""}, None,
     "human", WHEN),
    (3, "energy", "dictionary", "v1", 1.0, "a", 0, 5, 1, SHARED, 1, "machine", WHEN),
    (3, "trade", "dictionary", "v1", 1.0, "a", 0, 5, 1, SHARED, 1, "machine", WHEN),
    (3, "cyber", "dictionary", "v1", 1.0, "a", 0, 5, 1, {}, 1, "machine",
     WHEN.replace(second=2)),
]  # fmt: skip
SEGMENTS = [
    (1, "sentence", 0, 0, 10, 0),
    (1, "sentence", 1, 11, 30, 0),
    (1, "paragraph", 0, 0, 30, 0),
]


def _base(conn: sa.Connection) -> None:
    conn.execute(
        t.documents.insert().values(path="a.md", sha256="0" * 64, doc_type="news", text="x" * 30,
                                    ingested_at=WHEN)
    )  # fmt: skip
    conn.execute(
        t.runs.insert().values(kind="code", key="k", package_version="0", status="running",
                               started_at=WHEN)
    )  # fmt: skip


def _read(store: Store, table: sa.Table) -> list[tuple[Any, ...]]:
    cols: list[sa.ColumnElement[Any]] = [c for c in table.c if c.name != "id"]
    cols = [c for c in table.c if c.name != "id"]
    if store.engine.dialect.name == "sqlite":
        cols += [sa.func.typeof(c) for c in cols]
        cols += [sa.cast(c, sa.Text) for c in table.c if c.name in ("created_at", "evidence")]
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*cols).order_by(table.c.id))]


def _stores(url_a: str, url_b: str) -> tuple[list[Any], list[Any]]:
    core, bulk = Store(url_a), Store(url_b)
    with core.engine.begin() as conn:
        _base(conn)
        conn.execute(
            t.segments.insert(), [dict(zip(SEGMENT_COLUMNS, s, strict=True)) for s in SEGMENTS]
        )
        conn.execute(
            t.codings.insert(), [dict(zip(CODING_COLUMNS, c, strict=True)) for c in CODINGS]
        )
    with bulk.engine.begin() as conn:
        _base(conn)
        insert_many(conn, t.segments, SEGMENT_COLUMNS, SEGMENTS)
        insert_many(conn, t.codings, CODING_COLUMNS, CODINGS)
    out = ([_read(s, t.segments), _read(s, t.codings)] for s in (core, bulk))
    a, b = next(out), next(out)
    for s in (core, bulk):
        s.engine.dispose()
    return a, b


def test_bulk_rows_are_stored_as_core_stores_them_on_sqlite(tmp_path: Path) -> None:
    core, bulk = _stores(f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}")
    assert core == bulk
    assert len(core[0]) == 3 and len(core[1]) == 6  # the reads saw the rows


@pytest.fixture
def two_pg() -> Iterator[tuple[str, str]]:
    with fresh_postgres() as a, fresh_postgres() as b:
        yield a, b


def test_bulk_rows_are_stored_as_core_stores_them_on_postgres(two_pg: tuple[str, str]) -> None:
    core, bulk = _stores(*two_pg)
    assert core == bulk and len(core[1]) == 6


def test_delete_many_deletes_only_the_given_cells(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.begin() as conn:
        _base(conn)
        insert_many(conn, t.segments, SEGMENT_COLUMNS, SEGMENTS)
        insert_many(conn, t.codings, CODING_COLUMNS, CODINGS[:3])
        # the human's cell, and a machine cell under source "human": only the first goes
        cells = [(2, "energy", "Ayşe"), (1, "trade", "dictionary")]
        delete_many(conn, t.codings, CODING_COLUMNS[:3], cells, source="human")
    left = [(r[0], r[1], r[2]) for r in _read(store, t.codings)]
    assert left == [(1, "trade", "dictionary"), (2, "trade", "dictionary")]
    store.engine.dispose()
