from __future__ import annotations

import sqlalchemy as sa

from keyhall.storage import migrate
from keyhall.storage.store import Store


def test_upgrade_reaches_head_once(database_url: str) -> None:
    store = Store(database_url)
    try:
        assert migrate.upgrade(store.engine) is True
        assert migrate.current_revision(store.engine) == migrate.head_revision(store.engine)
        assert migrate.upgrade(store.engine) is False
        tables = set(sa.inspect(store.engine).get_table_names())
        assert {"users", "groups", "memberships", "settings", "audit_events"} <= tables
        assert store.version() == 0
    finally:
        store.close()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/k.db")
    try:
        migrate.upgrade(store.engine)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()
