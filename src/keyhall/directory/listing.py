"""Lists for administrators: users and groups searched, filtered and paged from the view.

The in-memory view answers these without touching the database. Pages are offset-based and
ordered by name, so the same query with the next offset continues where the last page ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from keyhall.directory.models import Group, Role, User
from keyhall.directory.view import DirectoryView
from keyhall.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.items)
        return end if end < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None


@dataclass(frozen=True, slots=True)
class UserQuery:
    search: str = ""
    """Case-insensitive substring of username, email or display name."""
    role: Role | None = None
    active: bool | None = None
    source: str | None = None
    group: str | None = None


def page_of(items: Iterable[T], offset: int, limit: int) -> Page[T]:
    if offset < 0:
        raise InvalidInput("offset must be 0 or more", field="offset")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    everything = list(items)
    return Page(everything[offset : offset + limit], len(everything), offset, limit)


def _user_matches(view: DirectoryView, query: UserQuery) -> Callable[[User], bool]:
    needle = query.search.strip().lower()
    members = None
    if query.group is not None:
        group = view.group_by_name(query.group)
        members = view.members(group.id) if group is not None else frozenset()

    def matches(user: User) -> bool:
        if needle and not any(
            needle in text.lower() for text in (user.username, user.email, user.display_name)
        ):
            return False
        if query.role is not None and user.role is not query.role:
            return False
        if query.active is not None and user.active is not query.active:
            return False
        if query.source is not None and user.source != query.source:
            return False
        return members is None or user.id in members

    return matches


def users(view: DirectoryView, query: UserQuery, *, offset: int = 0, limit: int = 50) -> Page[User]:
    matches = _user_matches(view, query)
    found = sorted((u for u in view.all_users() if matches(u)), key=lambda u: u.username)
    return page_of(found, offset, limit)


def groups(
    view: DirectoryView, search: str = "", *, offset: int = 0, limit: int = 50
) -> Page[Group]:
    needle = search.strip().lower()
    found = sorted(
        (
            g
            for g in view.all_groups()
            if not needle or needle in g.name or needle in g.description.lower()
        ),
        key=lambda g: g.name,
    )
    return page_of(found, offset, limit)


def member_names(view: DirectoryView, group: Group) -> list[str]:
    return sorted(view.users[i].username for i in view.members(group.id) if i in view.users)
