"""Engine creation: SQLite in WAL mode with sane pragmas, or PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE_POOL_SIZE = 16
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite write waits for another connection's write transaction to end."""


def create_engine(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        # Connections are cheap to keep and cost ~0.3 ms to open (file, WAL, pragmas): keep one
        # for each thread that may hold one at once (the OIDC executor's 8, asyncio's default
        # executor), so a busy moment never closes and reopens overflow connections.
        engine = sa.create_engine(
            parsed, connect_args={"timeout": 10}, pool_size=SQLITE_POOL_SIZE, max_overflow=8
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (every process's directory view) run beside one writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
