"""Prepared SQL for the OIDC provider's hottest statements, run on the DBAPI connection.

A token lookup by primary key costs ~400 µs through SQLAlchemy Core's execution path (cache key,
execution context, result wrapping) against ~25 µs on the driver. The few statements every
token, refresh and userinfo request runs are compiled here once for the engine's dialect,
bound and read with that dialect's own type processors (the same values SQLAlchemy would
write and read, on SQLite and PostgreSQL alike), and sent straight to the pooled connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from keyhall.storage.engine import SQLITE_BUSY_TIMEOUT_MS

Processor = Callable[[Any], Any] | None
Step = tuple["Prepared", Sequence[Mapping[str, Any]], bool]
"""A statement, the rows it runs for, and whether it must change a row."""


class Prepared:
    """One statement compiled for one dialect; `args` turns named values into driver args."""

    def __init__(self, engine: sa.Engine, statement: sa.ClauseElement, keys: Sequence[str] = ()):
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        binds = compiled.binds
        self._binds: list[tuple[str, Processor]] = [
            (name, binds[name].type._cached_bind_processor(dialect))
            for name in (compiled.positiontup or list(binds))
        ]
        self._positional = bool(compiled.positional)
        columns = getattr(statement, "selected_columns", ())
        self._results: list[Processor] = [
            c.type._cached_result_processor(dialect, None) for c in columns
        ]

    def args(self, values: Mapping[str, Any]) -> Any:
        if self._positional:
            return [values[n] if p is None else p(values[n]) for n, p in self._binds]
        return {n: values[n] if p is None else p(values[n]) for n, p in self._binds}

    def row(self, raw: Sequence[Any]) -> list[Any]:
        return [v if p is None else p(v) for p, v in zip(self._results, raw, strict=True)]


class Busy(Exception):
    """Inside `Driver.not_waiting`: another connection holds SQLite's write lock."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    # The primary code: SQLITE_BUSY_SNAPSHOT and the other extended codes count too.
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


class Driver:
    """Runs prepared statements on DBAPI connections.

    PostgreSQL's come from the engine's pool (pre-pinged, shared). On SQLite, each thread that
    runs a statement keeps a connection of its own, taken from the pool once (so it has the
    engine's pragmas) and detached from it: the database is a local file, so the connection
    never goes stale, and checking one out of the pool and resetting it cost more than the
    statement itself (~35 µs of a ~20 µs lookup).

    Inside `not_waiting`, a SQLite write that finds the lock taken raises `Busy` at once instead
    of waiting up to the busy timeout: an event loop running the call can serve other requests
    and try again, rather than sleep. (SQLite's own wait sleeps a whole millisecond first,
    while another worker's commit holds the lock for a tenth of that.)"""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sticky = engine.dialect.name == "sqlite"
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def not_waiting(self) -> Iterator[None]:
        """In this block (on this thread), a SQLite write that finds another writer's lock
        raises `Busy`."""
        self._local.no_wait = True
        try:
            yield
        finally:
            self._local.no_wait = False

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if not self._sticky:
            pooled = self.engine.raw_connection()
            try:
                yield pooled
            finally:
                pooled.close()  # back to the pool, which rolls back what a read may have begun
            return
        conn: Any = getattr(self._local, "conn", None)
        if conn is None:
            fairy = self.engine.raw_connection()
            conn = fairy.dbapi_connection
            fairy.detach()
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        no_wait = getattr(self._local, "no_wait", False)
        if no_wait != getattr(self._local, "set_no_wait", False):
            timeout = 0 if no_wait else SQLITE_BUSY_TIMEOUT_MS
            conn.execute(f"PRAGMA busy_timeout={timeout}")
            self._local.set_no_wait = no_wait
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if no_wait and _is_busy(exc):
                raise Busy from exc
            raise
        finally:
            # A read begins no transaction in sqlite3; anything else left open (an error
            # midway) must not hold the write lock or an old snapshot into the next call.
            if conn.in_transaction:
                conn.rollback()

    def close(self) -> None:
        """Close the connections kept for threads (SQLite); pooled ones go with the engine."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def first(self, stmt: Prepared, values: Mapping[str, Any]) -> list[Any] | None:
        with self._connection() as conn:
            cursor = conn.cursor()
            cursor.execute(stmt.sql, stmt.args(values))
            found = cursor.fetchone()
            cursor.close()
        return None if found is None else stmt.row(found)

    def all(self, stmt: Prepared, values: Mapping[str, Any]) -> list[list[Any]]:
        with self._connection() as conn:
            cursor = conn.cursor()
            cursor.execute(stmt.sql, stmt.args(values))
            found = cursor.fetchall()
            cursor.close()
        return [stmt.row(r) for r in found]

    def write(self, stmt: Prepared, values: Mapping[str, Any]) -> int:
        """Run one statement in its own transaction and commit; how many rows it changed."""
        with self._connection() as conn:
            cursor = conn.cursor()
            cursor.execute(stmt.sql, stmt.args(values))
            changed = int(cursor.rowcount)
            cursor.close()
            conn.commit()
            return changed

    def transaction(
        self, steps: Iterable[tuple[Prepared, Sequence[Mapping[str, Any]], bool]]
    ) -> bool:
        """Run each (statement, rows, must_change) in one transaction and commit; when a
        statement marked must_change changes no row, roll back and return False."""
        with self._connection() as conn:
            cursor = conn.cursor()
            for stmt, rows, must_change in steps:
                if len(rows) == 1:
                    cursor.execute(stmt.sql, stmt.args(rows[0]))
                else:
                    cursor.executemany(stmt.sql, [stmt.args(r) for r in rows])
                if must_change and cursor.rowcount < 1:
                    conn.rollback()
                    return False
            cursor.close()
            conn.commit()
            return True
