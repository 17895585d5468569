"""Bulk inserts through the DB-API: one ``executemany`` of plain tuples (issue 12).

An ``INSERT`` of a list of dicts through SQLAlchemy Core builds and checks every row's
parameters in Python (``construct_params``, type processors per row): for the hundreds of
thousands of segment and coding rows of a corpus that was most of ``ingest``'s and ``code``'s
CPU. Here the statement is written once per call and the rows go to the driver's
``executemany`` as tuples, in the caller's transaction (``Connection.exec_driver_sql``, so
SQLAlchemy's error handling, e.g. the disk-full StoreError, still applies). Values pass the
same bind processors SQLAlchemy would apply (JSON to text, SQLite's datetime format, floats),
so a row reads back exactly as one inserted through Core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any]


def _processors(dialect: sa.Dialect, table: sa.Table, columns: Sequence[str]) -> list[Processor]:
    out: list[Processor] = []
    for name in columns:
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        out.append(proc if proc is not None else _same)
    return out


def _same(value: Any) -> Any:
    return value


def statement(dialect: sa.Dialect, table: sa.Table, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns) VALUES (...)`` in the driver's parameter style."""
    quote = dialect.identifier_preparer
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote.quote(c) for c in columns)
    return (
        f"INSERT INTO {quote.format_table(table)} ({names}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )


def insert_many(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples of values in ``columns`` order) into ``table`` on ``conn``."""
    if not rows:
        return
    dialect = conn.dialect
    procs = _processors(dialect, table, columns)
    if any(p is not _same for p in procs):
        which = [(i, p) for i, p in enumerate(procs) if p is not _same]
        rows = _apply(rows, which)
    conn.exec_driver_sql(statement(dialect, table, columns), list(rows))


def delete_many(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    **fixed: Any,
) -> None:
    """Delete, for each of ``rows`` (values in ``columns`` order), the rows of ``table`` equal
    to it in those columns and equal to ``fixed`` in theirs: one ``executemany``."""
    if not rows:
        return
    dialect = conn.dialect
    names = [*columns, *fixed]
    procs = _processors(dialect, table, names)
    quote = dialect.identifier_preparer
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    where = " AND ".join(f"{quote.quote(c)} = {mark}" for c in names)
    tail = tuple(fixed.values())
    params = [tuple(p(v) for p, v in zip(procs, (*row, *tail), strict=True)) for row in rows]
    conn.exec_driver_sql(f"DELETE FROM {quote.format_table(table)} WHERE {where}", params)


def _apply(
    rows: Sequence[tuple[Any, ...]], which: list[tuple[int, Processor]]
) -> list[tuple[Any, ...]]:
    """The rows with each processed column's value processed, column by column (transposed
    and back in C). A value that is the very object of the row before (a batch's one
    ``created_at``) is processed once: processors are functions of the value, and formatting
    a datetime per row cost as much as its insert."""
    columns: list[Any] = list(zip(*rows, strict=True))
    for i, proc in which:
        last: Any = _UNSET
        done: Any = None
        out = []
        for value in columns[i]:
            if value is not last:
                last, done = value, proc(value)
            out.append(done)
        columns[i] = out
    return list(zip(*columns, strict=True))


_UNSET = object()
