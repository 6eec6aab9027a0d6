"""The in-memory directory: indexed users, groups and memberships that every read path uses.

It is loaded whole at start, then kept current by applying only what changed since the
version it holds (see `Store.changes_since`), so a change made by the CLI, a sync or another
node shows up here as soon as `refresh` runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from keyhall.directory.models import Group, User
from keyhall.storage.store import DirectoryChanges, Store

_EMPTY: frozenset[str] = frozenset()


class DirectoryView:
    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self.version = -1
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self._by_username: dict[str, User] = {}
        self._by_email: dict[str, User] = {}
        self._group_by_name: dict[str, Group] = {}
        self._members: dict[str, set[str]] = {}
        self._user_groups: dict[str, set[str]] = {}

    @property
    def loaded(self) -> bool:
        return self.version >= 0

    # -- reads ---------------------------------------------------------------------------
    def user_by_username(self, username: str) -> User | None:
        return self._by_username.get(username.lower())

    def user_by_email(self, email: str) -> User | None:
        return self._by_email.get(email.lower())

    def user_by_login(self, login: str) -> User | None:
        """A login is a username or an email; usernames can't contain '@', so no ambiguity."""
        key = login.strip().lower()
        return self._by_email.get(key) if "@" in key else self._by_username.get(key)

    def group_by_name(self, name: str) -> Group | None:
        return self._group_by_name.get(name.lower())

    def members(self, group_id: str) -> AbstractSet[str]:
        """The ids of a group's members: a live set, not to be modified by callers."""
        return self._members.get(group_id, _EMPTY)

    def all_users(self) -> Iterable[User]:
        return self.users.values()

    def all_groups(self) -> Iterable[Group]:
        return self.groups.values()

    def groups_of(self, user_id: str) -> list[Group]:
        ids = self._user_groups.get(user_id, ())
        return sorted((self.groups[g] for g in ids), key=lambda g: g.name)

    def group_names_of(self, user_id: str) -> list[str]:
        return [g.name for g in self.groups_of(user_id)]

    # -- updates -------------------------------------------------------------------------
    def refresh(self, store: Store) -> bool:
        """Apply what changed since our version; return whether anything did."""
        changes = store.changes_since(None if self.version < 0 else self.version)
        if changes.version == self.version and not changes.full:
            return False
        self.apply(changes)
        return True

    def apply(self, changes: DirectoryChanges) -> None:
        if changes.full:
            self._clear()
        for user_id in changes.deleted_users:
            self._drop_user(user_id)
        for group_id in changes.deleted_groups:
            self._drop_group(group_id)
        for user in changes.users:
            self._put_user(user)
        for group in changes.groups:
            self._put_group(group, changes.members.get(group.id, set()))
        self.version = changes.version

    def _put_user(self, user: User) -> None:
        old = self.users.get(user.id)
        if old is not None:
            # Only if still ours: in one batch another user may already hold the old name.
            _unindex(self._by_username, old.username, old.id)
            _unindex(self._by_email, old.email.lower(), old.id)
        self.users[user.id] = user
        self._by_username[user.username] = user
        self._by_email[user.email.lower()] = user

    def _drop_user(self, user_id: str) -> None:
        old = self.users.pop(user_id, None)
        if old is None:
            return
        _unindex(self._by_username, old.username, old.id)
        _unindex(self._by_email, old.email.lower(), old.id)
        for group_id in self._user_groups.pop(user_id, ()):
            self._members.get(group_id, set()).discard(user_id)

    def _put_group(self, group: Group, members: Iterable[str]) -> None:
        old = self.groups.get(group.id)
        if old is not None:
            _unindex(self._group_by_name, old.name, old.id)
        self.groups[group.id] = group
        self._group_by_name[group.name] = group
        new = set(members)
        for user_id in self._members.get(group.id, set()) - new:
            self._user_groups.get(user_id, set()).discard(group.id)
        for user_id in new:
            self._user_groups.setdefault(user_id, set()).add(group.id)
        self._members[group.id] = new

    def _drop_group(self, group_id: str) -> None:
        old = self.groups.pop(group_id, None)
        if old is None:
            return
        _unindex(self._group_by_name, old.name, old.id)
        for user_id in self._members.pop(group_id, set()):
            self._user_groups.get(user_id, set()).discard(group_id)


def _unindex(index: dict[str, Any], key: str, ident: str) -> None:
    entry = index.get(key)
    if entry is not None and entry.id == ident:
        del index[key]
