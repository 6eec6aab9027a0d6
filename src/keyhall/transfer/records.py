"""What every import format reads into: one user or group, as found in the file, with its line.

Values are raw (not yet validated): the planner validates them all before anything is written,
so that every problem of a file is reported at once, each with its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    line: int
    username: str
    email: str
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    password_hash: str | None = None
    password: str | None = None
    """Cleartext: refused unless the import was asked to hash cleartext passwords."""
    external_id: str | None = None
    dn: str | None = None
    groups: tuple[str, ...] = ()
    """Group names (CSV): groups that don't exist yet are created."""
    id: str | None = None
    number: int | None = None
    role: str | None = None
    active: bool = True
    source: str | None = None
    external_missing: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    line: int
    name: str
    description: str = ""
    member_dns: tuple[str, ...] = ()
    """Members named by DN (`member`, `uniqueMember`): resolved against the file's entries."""
    member_uids: tuple[str, ...] = ()
    """Members named by username (`memberUid`, JSON `members`)."""
    external_id: str | None = None
    dn: str | None = None
    id: str | None = None
    number: int | None = None
    source: str | None = None
    external_missing: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


Record = UserRecord | GroupRecord


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry of the file that is neither a user nor a group (containers, the base entry)."""

    line: int
    what: str
    reason: str


Item = UserRecord | GroupRecord | Skipped
