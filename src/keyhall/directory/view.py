"""The in-memory directory: indexed users, groups and memberships that every read path uses.

It is loaded whole at start, then kept current by applying only what changed since the
version it holds (see `Store.changes_since`), so a change made by the CLI, a sync or another
node shows up here as soon as `refresh` runs.

Readers never lock. Every refresh builds a new `_Indexes` from the old one (copy on write:
dicts are copied, the sets of changed groups and users replaced, never mutated) and swaps it in
with one assignment, so a reader on any thread sees either the old directory or the new one,
and a loop iterating over users can't be broken by a refresh running in another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from keyhall.directory.models import Group, User
from keyhall.storage.store import DirectoryChanges, Store

_EMPTY: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Indexes:
    version: int = -1
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    by_username: dict[str, User] = field(default_factory=dict)
    by_email: dict[str, User] = field(default_factory=dict)
    group_by_name: dict[str, Group] = field(default_factory=dict)
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    user_groups: dict[str, frozenset[str]] = field(default_factory=dict)

    def copy(self) -> _Indexes:
        return _Indexes(
            self.version,
            dict(self.users),
            dict(self.groups),
            dict(self.by_username),
            dict(self.by_email),
            dict(self.group_by_name),
            dict(self.members),
            dict(self.user_groups),
        )


class DirectoryView:
    def __init__(self) -> None:
        self._ix = _Indexes()
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        return self._ix.version

    @property
    def loaded(self) -> bool:
        return self._ix.version >= 0

    @property
    def users(self) -> dict[str, User]:
        """Users by id. A snapshot: never modify it."""
        return self._ix.users

    @property
    def groups(self) -> dict[str, Group]:
        """Groups by id. A snapshot: never modify it."""
        return self._ix.groups

    # -- reads ---------------------------------------------------------------------------
    def user_by_username(self, username: str) -> User | None:
        return self._ix.by_username.get(username.lower())

    def user_by_email(self, email: str) -> User | None:
        return self._ix.by_email.get(email.lower())

    def user_by_login(self, login: str) -> User | None:
        """A login is a username or an email; usernames can't contain '@', so no ambiguity."""
        key = login.strip().lower()
        ix = self._ix
        return ix.by_email.get(key) if "@" in key else ix.by_username.get(key)

    def group_by_name(self, name: str) -> Group | None:
        return self._ix.group_by_name.get(name.lower())

    def members(self, group_id: str) -> AbstractSet[str]:
        """The ids of a group's members."""
        return self._ix.members.get(group_id, _EMPTY)

    def all_users(self) -> Iterable[User]:
        return self._ix.users.values()

    def all_groups(self) -> Iterable[Group]:
        return self._ix.groups.values()

    def groups_of(self, user_id: str) -> list[Group]:
        ix = self._ix
        ids = ix.user_groups.get(user_id, _EMPTY)
        return sorted((ix.groups[g] for g in ids if g in ix.groups), key=lambda g: g.name)

    def group_names_of(self, user_id: str) -> list[str]:
        return [g.name for g in self.groups_of(user_id)]

    # -- updates -------------------------------------------------------------------------
    def refresh(self, store: Store) -> bool:
        """Apply what changed since our version; return whether anything did."""
        with self._lock:
            changes = store.changes_since(None if self.version < 0 else self.version)
            return self._apply(changes)

    def apply(self, changes: DirectoryChanges) -> bool:
        """Apply changes fetched elsewhere (e.g. in a worker thread); stale ones are ignored."""
        with self._lock:
            return self._apply(changes)

    def _apply(self, changes: DirectoryChanges) -> bool:
        current = self._ix
        if not changes.full and changes.version <= current.version:
            # Already applied, or fetched before a newer refresh landed. A batch fetched from an
            # older version than ours is a superset of what we lack, so applying it is safe.
            return False
        ix = _Indexes() if changes.full else current.copy()
        for user_id in changes.deleted_users:
            _drop_user(ix, user_id)
        for group_id in changes.deleted_groups:
            _drop_group(ix, group_id)
        for user in changes.users:
            _put_user(ix, user)
        for group in changes.groups:
            _put_group(ix, group, changes.members.get(group.id, _EMPTY))
        ix.version = changes.version
        self._ix = ix
        return True


def _put_user(ix: _Indexes, user: User) -> None:
    old = ix.users.get(user.id)
    if old is not None:
        # Only if still ours: in one batch another user may already hold the old name.
        _unindex(ix.by_username, old.username, old.id)
        _unindex(ix.by_email, old.email.lower(), old.id)
    ix.users[user.id] = user
    ix.by_username[user.username] = user
    ix.by_email[user.email.lower()] = user


def _drop_user(ix: _Indexes, user_id: str) -> None:
    old = ix.users.pop(user_id, None)
    if old is None:
        return
    _unindex(ix.by_username, old.username, old.id)
    _unindex(ix.by_email, old.email.lower(), old.id)
    for group_id in ix.user_groups.pop(user_id, _EMPTY):
        ix.members[group_id] = ix.members.get(group_id, _EMPTY) - {user_id}


def _put_group(ix: _Indexes, group: Group, members: AbstractSet[str]) -> None:
    old = ix.groups.get(group.id)
    if old is not None:
        _unindex(ix.group_by_name, old.name, old.id)
    ix.groups[group.id] = group
    ix.group_by_name[group.name] = group
    new = frozenset(members)
    previous = ix.members.get(group.id, _EMPTY)
    for user_id in previous - new:
        ix.user_groups[user_id] = ix.user_groups.get(user_id, _EMPTY) - {group.id}
    for user_id in new - previous:
        ix.user_groups[user_id] = ix.user_groups.get(user_id, _EMPTY) | {group.id}
    ix.members[group.id] = new


def _drop_group(ix: _Indexes, group_id: str) -> None:
    old = ix.groups.pop(group_id, None)
    if old is None:
        return
    _unindex(ix.group_by_name, old.name, old.id)
    for user_id in ix.members.pop(group_id, _EMPTY):
        ix.user_groups[user_id] = ix.user_groups.get(user_id, _EMPTY) - {group_id}


def _unindex(index: dict[str, Any], key: str, ident: str) -> None:
    entry = index.get(key)
    if entry is not None and entry.id == ident:
        del index[key]
