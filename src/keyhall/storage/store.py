"""SQL access for the directory. Writes go through a `Writer` that bumps the directory version."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from keyhall.directory.models import AuditEvent, Group, Role, User
from keyhall.errors import Conflict
from keyhall.storage import tables as t
from keyhall.storage.engine import create_engine
from keyhall.storage.oidc_sql import Driver

_USER_COLUMNS = (
    t.users.c.id,
    t.users.c.number,
    t.users.c.username,
    t.users.c.email,
    t.users.c.display_name,
    t.users.c.given_name,
    t.users.c.family_name,
    t.users.c.role,
    t.users.c.active,
    t.users.c.source,
    t.users.c.external_id,
    t.users.c.external_missing,
    t.users.c.created_at,
    t.users.c.updated_at,
)
_GROUP_COLUMNS = (
    t.groups.c.id,
    t.groups.c.number,
    t.groups.c.name,
    t.groups.c.description,
    t.groups.c.source,
    t.groups.c.external_id,
    t.groups.c.external_missing,
    t.groups.c.created_at,
    t.groups.c.updated_at,
)


def utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def user_from_row(row: Any) -> User:
    return User(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        Role(row[7]),
        bool(row[8]),
        row[9],
        row[10],
        bool(row[11]),
        utc(row[12]),
        utc(row[13]),
    )


def group_from_row(row: Any) -> Group:
    return Group(
        row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), utc(row[7]), utc(row[8])
    )


@dataclass(slots=True)
class DirectoryChanges:
    """What changed since a version: rows to (re)load, ids gone, and groups' full member lists."""

    version: int
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    members: dict[str, set[str]] = field(default_factory=dict)
    deleted_users: list[str] = field(default_factory=list)
    deleted_groups: list[str] = field(default_factory=list)
    full: bool = False


@dataclass(frozen=True, slots=True)
class Credentials:
    password_hash: str | None
    can_log_in: bool


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.driver = Driver(self.engine)
        """Prepared statements of the hottest paths (keyhall.storage.oidc_sql)."""
        self.embedded = self.engine.dialect.name == "sqlite"
        """The database is a file this process opens (SQLite), not a server to wait on."""

    def close(self) -> None:
        self.driver.close()
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Writer]:
        """One transaction that bumps the directory version before touching any row."""
        with self.engine.begin() as conn:
            version = conn.execute(
                sa.update(t.directory_state)
                .where(t.directory_state.c.id == 1)
                .values(version=t.directory_state.c.version + 1)
                .returning(t.directory_state.c.version)
            ).scalar_one()
            yield Writer(conn, version)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def version(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(t.directory_state.c.version).where(t.directory_state.c.id == 1)
                ).scalar_one()
            )

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def changes_since(self, version: int | None) -> DirectoryChanges:
        """Everything that changed after `version`; everything at all when it is None."""
        with self.engine.connect() as conn, conn.begin():
            current = int(
                conn.execute(
                    sa.select(t.directory_state.c.version).where(t.directory_state.c.id == 1)
                ).scalar_one()
            )
            changes = DirectoryChanges(version=current, full=version is None)
            if version is not None and version >= current:
                return changes
            user_q = sa.select(*_USER_COLUMNS)
            group_q = sa.select(*_GROUP_COLUMNS)
            member_q = sa.select(t.groups.c.id, t.users.c.id).select_from(
                t.memberships.join(t.groups).join(t.users)
            )
            if version is not None:
                user_q = user_q.where(t.users.c.version > version)
                group_q = group_q.where(t.groups.c.version > version)
                member_q = member_q.where(t.groups.c.version > version)
                for kind, ident in conn.execute(
                    sa.select(t.deletions.c.kind, t.deletions.c.id).where(
                        t.deletions.c.version > version
                    )
                ):
                    target = changes.deleted_users if kind == "user" else changes.deleted_groups
                    target.append(ident)
            changes.users = [user_from_row(r) for r in conn.execute(user_q)]
            changes.groups = [group_from_row(r) for r in conn.execute(group_q)]
            changes.members = {g.id: set() for g in changes.groups}
            for group_id, user_id in conn.execute(member_q):
                changes.members[group_id].add(user_id)
            return changes

    def user_by_login(self, login: str) -> User | None:
        """A username or email looked up in SQL, for logins the in-memory view hasn't seen yet."""
        key = login.strip().lower()
        column = t.users.c.email_key if "@" in key else t.users.c.username
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS).where(column == key)).first()
        return None if row is None else user_from_row(row)

    def credentials(self, user_id: str) -> Credentials | None:
        """The fresh password hash and state of a user, read past the in-memory view."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    t.users.c.password_hash, t.users.c.active, t.users.c.external_missing
                ).where(t.users.c.id == user_id)
            ).first()
        if row is None:
            return None
        return Credentials(row[0], bool(row[1]) and not bool(row[2]))

    def settings(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {row.key: row.value for row in conn.execute(sa.select(t.settings))}

    def audit_events(
        self, *, limit: int = 100, action: str | None = None, target: str | None = None
    ) -> list[AuditEvent]:
        query = sa.select(t.audit_events).order_by(t.audit_events.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(t.audit_events.c.action == action)
        if target is not None:
            query = query.where(t.audit_events.c.target == target)
        with self.engine.connect() as conn:
            return [
                AuditEvent(
                    id=r.id,
                    at=utc(r.at),
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    outcome=r.outcome,
                    ip=r.ip,
                    details=r.details,
                )
                for r in conn.execute(query)
            ]

    def record_audit(self, event: AuditEvent) -> None:
        """Audit events outside a directory change (authentications) don't bump the version."""
        with self.engine.begin() as conn:
            insert_audit(conn, event)


def insert_audit(conn: sa.Connection, event: AuditEvent) -> None:
    conn.execute(
        sa.insert(t.audit_events).values(
            at=event.at,
            actor=event.actor,
            action=event.action,
            target=event.target,
            outcome=event.outcome,
            ip=event.ip,
            details=event.details,
        )
    )


class Writer:
    """The statements of one write transaction; every change is stamped with `version`."""

    def __init__(self, conn: sa.Connection, version: int) -> None:
        self.conn = conn
        self.version = version

    def user_count(self) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one())

    def find_user(self, **where: Any) -> User | None:
        query = sa.select(*_USER_COLUMNS)
        for key, value in where.items():
            query = query.where(t.users.c[key] == value)
        row = self.conn.execute(query).first()
        return None if row is None else user_from_row(row)

    def find_group(self, **where: Any) -> Group | None:
        query = sa.select(*_GROUP_COLUMNS)
        for key, value in where.items():
            query = query.where(t.groups.c[key] == value)
        row = self.conn.execute(query).first()
        return None if row is None else group_from_row(row)

    def insert_user(self, values: Mapping[str, Any]) -> User:
        try:
            number = self.conn.execute(
                sa.insert(t.users)
                .values(**values, version=self.version)
                .returning(t.users.c.number)
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(_conflict_message("user", values, exc)) from None
        user = self.find_user(number=number)
        assert user is not None
        return user

    def update_user(self, user_id: str, values: Mapping[str, Any]) -> User:
        try:
            self.conn.execute(
                sa.update(t.users)
                .where(t.users.c.id == user_id)
                .values(**values, version=self.version)
            )
        except IntegrityError as exc:
            raise Conflict(_conflict_message("user", values, exc)) from None
        user = self.find_user(id=user_id)
        assert user is not None
        return user

    def delete_user(self, user: User) -> None:
        self._touch_groups_of(user.number)
        self.conn.execute(sa.delete(t.users).where(t.users.c.id == user.id))
        self.conn.execute(
            sa.insert(t.deletions).values(version=self.version, kind="user", id=user.id)
        )

    def insert_group(self, values: Mapping[str, Any]) -> Group:
        try:
            number = self.conn.execute(
                sa.insert(t.groups)
                .values(**values, version=self.version)
                .returning(t.groups.c.number)
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(_conflict_message("group", values, exc)) from None
        group = self.find_group(number=number)
        assert group is not None
        return group

    def update_group(self, group_id: str, values: Mapping[str, Any]) -> Group:
        self.conn.execute(
            sa.update(t.groups)
            .where(t.groups.c.id == group_id)
            .values(**values, version=self.version)
        )
        group = self.find_group(id=group_id)
        assert group is not None
        return group

    def delete_group(self, group: Group) -> None:
        self.conn.execute(sa.delete(t.groups).where(t.groups.c.id == group.id))
        self.conn.execute(
            sa.insert(t.deletions).values(version=self.version, kind="group", id=group.id)
        )

    def member_numbers(self, group: Group) -> set[int]:
        return set(
            self.conn.execute(
                sa.select(t.memberships.c.user_number).where(
                    t.memberships.c.group_number == group.number
                )
            ).scalars()
        )

    def add_members(self, group: Group, user_numbers: Iterable[int]) -> list[int]:
        """Add the users not yet members; return which were added."""
        new = sorted(set(user_numbers) - self.member_numbers(group))
        if new:
            self.conn.execute(
                sa.insert(t.memberships),
                [{"group_number": group.number, "user_number": n} for n in new],
            )
            self._touch_group(group.number)
        return new

    def remove_members(self, group: Group, user_numbers: Iterable[int]) -> list[int]:
        gone = sorted(set(user_numbers) & self.member_numbers(group))
        if gone:
            self.conn.execute(
                sa.delete(t.memberships).where(
                    t.memberships.c.group_number == group.number,
                    t.memberships.c.user_number.in_(gone),
                )
            )
            self._touch_group(group.number)
        return gone

    def set_password_hash(self, user_id: str, password_hash: str | None, now: datetime) -> None:
        # A password change is not a directory change readers see, but it must invalidate
        # verified-credential caches on every node, so it bumps the user's version too.
        self.conn.execute(
            sa.update(t.users)
            .where(t.users.c.id == user_id)
            .values(password_hash=password_hash, updated_at=now, version=self.version)
        )

    def set_setting(self, key: str, value: Any) -> None:
        updated = self.conn.execute(
            sa.update(t.settings).where(t.settings.c.key == key).values(value=value)
        ).rowcount
        if not updated:
            self.conn.execute(sa.insert(t.settings).values(key=key, value=value))

    def audit(self, event: AuditEvent) -> None:
        insert_audit(self.conn, event)

    def _touch_group(self, number: int) -> None:
        self.conn.execute(
            sa.update(t.groups).where(t.groups.c.number == number).values(version=self.version)
        )

    def _touch_groups_of(self, user_number: int) -> None:
        self.conn.execute(
            sa.update(t.groups)
            .where(
                t.groups.c.number.in_(
                    sa.select(t.memberships.c.group_number).where(
                        t.memberships.c.user_number == user_number
                    )
                )
            )
            .values(version=self.version)
        )


def _conflict_message(kind: str, values: Mapping[str, Any], exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    for column, label in (("username", "username"), ("email_key", "email"), ("name", "name")):
        if column in text and column in values:
            shown = values["email"] if column == "email_key" else values[column]
            return f"a {kind} with {label} {shown!r} already exists"
    if "external_id" in text:
        return f"a {kind} with this external id already exists"
    return f"the {kind} conflicts with an existing one"
