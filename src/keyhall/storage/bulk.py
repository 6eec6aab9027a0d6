"""Bulk SQL for imports and exports: a snapshot of what exists, set-wise writes, streamed reads.

`Directory.create_user` costs one transaction per user; an import of 100,000 users instead
inserts in batches of executemany statements inside the caller's one `Store.write()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from keyhall.directory.models import AuditEvent, Group, User
from keyhall.errors import Conflict
from keyhall.storage import tables as t
from keyhall.storage.store import (
    _GROUP_COLUMNS,
    _USER_COLUMNS,
    Store,
    Writer,
    group_from_row,
    user_from_row,
)

BATCH = 5000


@dataclass(frozen=True, slots=True)
class ExistingUser:
    number: int
    id: str
    email_key: str
    source: str
    external_id: str | None


@dataclass(slots=True)
class Snapshot:
    """What the database holds that an import can collide with."""

    users: dict[str, ExistingUser] = field(default_factory=dict)
    """By username."""
    email_owner: dict[str, str] = field(default_factory=dict)
    """email_key -> username."""
    user_ids: set[str] = field(default_factory=set)
    user_numbers: set[int] = field(default_factory=set)
    user_external: dict[tuple[str, str], str] = field(default_factory=dict)
    groups: dict[str, tuple[int, str]] = field(default_factory=dict)
    """By name: (number, id)."""
    group_ids: set[str] = field(default_factory=set)
    group_numbers: set[int] = field(default_factory=set)
    group_external: dict[tuple[str, str], str] = field(default_factory=dict)
    has_owner: bool = False


def snapshot(store: Store) -> Snapshot:
    snap = Snapshot()
    with store.read() as conn:
        rows = conn.execute(
            sa.select(
                t.users.c.username,
                t.users.c.number,
                t.users.c.id,
                t.users.c.email_key,
                t.users.c.source,
                t.users.c.external_id,
                t.users.c.role,
            )
        )
        for username, number, ident, email_key, source, external_id, role in rows:
            snap.users[username] = ExistingUser(number, ident, email_key, source, external_id)
            snap.email_owner[email_key] = username
            snap.user_ids.add(ident)
            snap.user_numbers.add(number)
            if external_id is not None:
                snap.user_external[(source, external_id)] = username
            snap.has_owner = snap.has_owner or role == "owner"
        for name, number, ident, source, external_id in conn.execute(
            sa.select(
                t.groups.c.name,
                t.groups.c.number,
                t.groups.c.id,
                t.groups.c.source,
                t.groups.c.external_id,
            )
        ):
            snap.groups[name] = (number, ident)
            snap.group_ids.add(ident)
            snap.group_numbers.add(number)
            if external_id is not None:
                snap.group_external[(source, external_id)] = name
    return snap


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_users(w: Writer, rows: Iterable[dict[str, Any]]) -> None:
    _insert(w, t.users, rows, "user")


def insert_groups(w: Writer, rows: Iterable[dict[str, Any]]) -> None:
    _insert(w, t.groups, rows, "group")


def _insert(w: Writer, table: sa.Table, rows: Iterable[dict[str, Any]], kind: str) -> None:
    # Rows with and without an explicit `number` are inserted apart: executemany needs one
    # set of columns per statement.
    for batch in _batches({**row, "version": w.version} for row in rows):
        numbered: list[dict[str, Any]] = []
        auto: list[dict[str, Any]] = []
        for r in batch:
            if r.get("number") is not None:
                numbered.append(r)
            else:
                auto.append({k: v for k, v in r.items() if k != "number"})
        try:
            for part in (numbered, auto):
                if part:
                    w.conn.execute(sa.insert(table), part)
        except IntegrityError as exc:
            raise Conflict(f"a {kind} in the import conflicts with one written meanwhile") from exc
    if w.conn.dialect.name == "postgresql":
        # Explicit numbers don't advance a PostgreSQL sequence: move it past the highest.
        # The table name is one of two constants, never input.
        sql = f"SELECT setval(pg_get_serial_sequence('{table.name}', 'number'), "
        sql += f"(SELECT COALESCE(MAX(number), 0) + 1 FROM {table.name}), false)"  # noqa: S608
        w.conn.execute(sa.text(sql))


def update_users(w: Writer, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows keyed by `b_number`; every row must carry the same set of columns."""
    _update(w, t.users, rows)


def update_groups(w: Writer, rows: Sequence[Mapping[str, Any]]) -> None:
    _update(w, t.groups, rows)


def _update(w: Writer, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(k for k in row if k != "b_number"))
        by_columns.setdefault(columns, []).append({**row, "version": w.version})
    for columns, group in by_columns.items():
        statement = (
            sa.update(table)
            .where(table.c.number == sa.bindparam("b_number"))
            .values({c: sa.bindparam(c) for c in (*columns, "version")})
        )
        for batch in _batches(group):
            try:
                w.conn.execute(statement, batch)
            except IntegrityError as exc:
                raise Conflict("an update in the import conflicts with an existing row") from exc


def numbers(w: Writer) -> tuple[dict[str, int], dict[str, int]]:
    """username -> number and group name -> number, after the inserts."""
    # A Result has keys(), so dict(result) would take it for a mapping: iterate its rows.
    users = dict(iter(w.conn.execute(sa.select(t.users.c.username, t.users.c.number))))
    groups = dict(iter(w.conn.execute(sa.select(t.groups.c.name, t.groups.c.number))))
    return users, groups


def add_memberships(w: Writer, pairs: set[tuple[int, int]]) -> int:
    """Insert (group_number, user_number) pairs not yet present; touch the groups that change."""
    if not pairs:
        return 0
    group_numbers = {g for g, _ in pairs}
    present: set[tuple[int, int]] = set()
    wanted = list(group_numbers)
    for i in range(0, len(wanted), 500):
        rows = w.conn.execute(
            sa.select(t.memberships.c.group_number, t.memberships.c.user_number).where(
                t.memberships.c.group_number.in_(wanted[i : i + 500])
            )
        )
        present.update((g, u) for g, u in rows)
    new = sorted(pairs - present)
    for batch in _batches({"group_number": g, "user_number": u} for g, u in new):
        w.conn.execute(sa.insert(t.memberships), batch)
    changed = sorted({g for g, _ in new})
    for i in range(0, len(changed), 500):
        w.conn.execute(
            sa.update(t.groups)
            .where(t.groups.c.number.in_(changed[i : i + 500]))
            .values(version=w.version)
        )
    return len(new)


def insert_audit_events(w: Writer, events: Iterable[AuditEvent]) -> None:
    rows = (
        {
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "outcome": e.outcome,
            "ip": e.ip,
            "details": e.details,
        }
        for e in events
    )
    for batch in _batches(rows):
        w.conn.execute(sa.insert(t.audit_events), batch)


# -- reading for export ----------------------------------------------------------------------


def iter_users(conn: sa.Connection) -> Iterator[tuple[User, str | None]]:
    """Every user with its password hash, by number, streamed from the database."""
    query = sa.select(*_USER_COLUMNS, t.users.c.password_hash).order_by(t.users.c.number)
    for row in conn.execution_options(yield_per=2000).execute(query):
        yield user_from_row(row), row[-1]


def iter_groups(conn: sa.Connection) -> Iterator[Group]:
    query = sa.select(*_GROUP_COLUMNS).order_by(t.groups.c.number)
    for row in conn.execution_options(yield_per=2000).execute(query):
        yield group_from_row(row)


def member_usernames(conn: sa.Connection) -> dict[int, list[str]]:
    """group number -> member usernames, sorted."""
    members: dict[int, list[str]] = {}
    query = (
        sa.select(t.memberships.c.group_number, t.users.c.username)
        .select_from(t.memberships.join(t.users))
        .order_by(t.users.c.username)
    )
    for group_number, username in conn.execute(query):
        members.setdefault(group_number, []).append(username)
    return members


def group_names_by_user(conn: sa.Connection) -> dict[int, list[str]]:
    """user number -> names of their groups, sorted."""
    names: dict[int, list[str]] = {}
    query = (
        sa.select(t.memberships.c.user_number, t.groups.c.name)
        .select_from(t.memberships.join(t.groups))
        .order_by(t.groups.c.name)
    )
    for user_number, name in conn.execute(query):
        names.setdefault(user_number, []).append(name)
    return names
