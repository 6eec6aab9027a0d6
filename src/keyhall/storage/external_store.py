"""SQL for the external directory connector: its settings, the sync lease, reports, bulk writes.

A sync touches thousands of rows, so it writes them with executemany inside one directory
transaction (`Store.write`) instead of one use case call per user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from keyhall.directory.models import AuditEvent, User
from keyhall.storage import tables as t
from keyhall.storage.external_tables import external_leases, external_settings, external_sync_runs
from keyhall.storage.store import _USER_COLUMNS as USER_COLUMNS
from keyhall.storage.store import Store, Writer, insert_audit, user_from_row, utc


@dataclass(frozen=True, slots=True)
class UserRow:
    """What a sync needs to know of a local user."""

    number: int
    id: str
    username: str
    email: str
    display_name: str
    given_name: str
    family_name: str
    active: bool
    source: str
    external_id: str | None
    external_missing: bool


@dataclass(frozen=True, slots=True)
class GroupRow:
    number: int
    id: str
    name: str
    source: str
    external_id: str | None
    external_missing: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    users: list[UserRow]
    groups: list[GroupRow]
    members: dict[int, set[int]]
    """Group number -> user numbers."""


class ExternalStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -- settings ------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {r.key: r.value for r in conn.execute(sa.select(external_settings))}

    def set_settings(self, changes: Mapping[str, Any], events: Sequence[AuditEvent]) -> None:
        """Store (or, for None, remove) keys and record their audit events in one transaction."""
        with self.engine.begin() as conn:
            for key, value in changes.items():
                conn.execute(sa.delete(external_settings).where(external_settings.c.key == key))
                if value is not None:
                    conn.execute(sa.insert(external_settings).values(key=key, value=value))
            for event in events:
                insert_audit(conn, event)

    # -- lease ---------------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take (or renew) the named lease unless another holder's is still valid."""
        expires = now + ttl
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(external_leases)
                .where(
                    external_leases.c.name == name,
                    sa.or_(external_leases.c.expires_at < now, external_leases.c.holder == holder),
                )
                .values(holder=holder, expires_at=expires)
            ).rowcount
            if taken:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(external_leases).values(name=name, holder=holder, expires_at=expires)
                )
        except IntegrityError:
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(external_leases).where(
                    external_leases.c.name == name, external_leases.c.holder == holder
                )
            )

    # -- reports -------------------------------------------------------------------------
    def record_run(self, values: Mapping[str, Any], event: AuditEvent) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.insert(external_sync_runs).values(**values))
            insert_audit(conn, event)

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        query = sa.select(external_sync_runs).order_by(external_sync_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["started_at"] = utc(row["started_at"])
            row["finished_at"] = utc(row["finished_at"])
        return rows

    def user_by_external_id(self, source: str, external_id: str) -> User | None:
        query = sa.select(*USER_COLUMNS).where(
            t.users.c.source == source, t.users.c.external_id == external_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else user_from_row(row)

    # -- the directory as a sync sees it -------------------------------------------------
    def snapshot(self) -> Snapshot:
        u, g, m = t.users.c, t.groups.c, t.memberships.c
        with self.engine.connect() as conn, conn.begin():
            users = [
                UserRow(
                    r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], bool(r[10])
                )
                for r in conn.execute(
                    sa.select(
                        u.number,
                        u.id,
                        u.username,
                        u.email,
                        u.display_name,
                        u.given_name,
                        u.family_name,
                        u.active,
                        u.source,
                        u.external_id,
                        u.external_missing,
                    )
                )
            ]
            groups = [
                GroupRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]))
                for r in conn.execute(
                    sa.select(g.number, g.id, g.name, g.source, g.external_id, g.external_missing)
                )
            ]
            members: dict[int, set[int]] = {}
            for group_number, user_number in conn.execute(sa.select(m.group_number, m.user_number)):
                members.setdefault(group_number, set()).add(user_number)
        return Snapshot(users, groups, members)


# -- bulk writes inside one `Store.write()` transaction -----------------------------------
def insert_users(w: Writer, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        w.conn.execute(sa.insert(t.users), [{**r, "version": w.version} for r in rows])


def update_users(w: Writer, updates: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Apply per-user values; rows are grouped by the set of columns they change."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for number, values in updates:
        by_columns.setdefault(tuple(sorted(values)), []).append({"b_number": number, **values})
    for columns, params in by_columns.items():
        statement = (
            sa.update(t.users)
            .where(t.users.c.number == sa.bindparam("b_number"))
            .values({**{c: sa.bindparam(c) for c in columns}, "version": w.version})
        )
        w.conn.execute(statement, params)


def insert_groups(w: Writer, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        w.conn.execute(sa.insert(t.groups), [{**r, "version": w.version} for r in rows])


def update_groups(w: Writer, updates: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for number, values in updates:
        by_columns.setdefault(tuple(sorted(values)), []).append({"b_number": number, **values})
    for columns, params in by_columns.items():
        statement = (
            sa.update(t.groups)
            .where(t.groups.c.number == sa.bindparam("b_number"))
            .values({**{c: sa.bindparam(c) for c in columns}, "version": w.version})
        )
        w.conn.execute(statement, params)


def numbers_by_external_id(w: Writer, source: str, table: sa.Table) -> dict[str, int]:
    rows = w.conn.execute(
        sa.select(table.c.external_id, table.c.number).where(table.c.source == source)
    )
    return {ext: number for ext, number in rows if ext is not None}


def change_members(
    w: Writer, add: Iterable[tuple[int, int]], remove: Iterable[tuple[int, int]]
) -> None:
    """Add and remove (group number, user number) pairs; touch the groups that changed."""
    adds = [{"group_number": g, "user_number": u} for g, u in add]
    removes = [{"b_group": g, "b_user": u} for g, u in remove]
    if adds:
        w.conn.execute(sa.insert(t.memberships), adds)
    if removes:
        w.conn.execute(
            sa.delete(t.memberships).where(
                t.memberships.c.group_number == sa.bindparam("b_group"),
                t.memberships.c.user_number == sa.bindparam("b_user"),
            ),
            removes,
        )
    touched = {a["group_number"] for a in adds} | {r["b_group"] for r in removes}
    if touched:
        w.conn.execute(
            sa.update(t.groups).where(t.groups.c.number.in_(touched)).values(version=w.version)
        )


def convert_to_local(w: Writer, source: str, local_source: str) -> tuple[int, int]:
    """Turn a connector's users and groups into local ones; users get no password.

    Users the directory no longer listed stay unable to log in: they become inactive.
    """
    u, g = t.users.c, t.groups.c
    w.conn.execute(
        sa.update(t.users)
        .where(u.source == source, u.external_missing.is_(True))
        .values(active=False)
    )
    users = w.conn.execute(
        sa.update(t.users)
        .where(u.source == source)
        .values(
            source=local_source,
            external_id=None,
            external_missing=False,
            password_hash=None,
            version=w.version,
        )
    ).rowcount
    groups = w.conn.execute(
        sa.update(t.groups)
        .where(g.source == source)
        .values(source=local_source, external_id=None, external_missing=False, version=w.version)
    ).rowcount
    return int(users), int(groups)
