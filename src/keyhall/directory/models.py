"""The directory's values: immutable records that cross every boundary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LOCAL_SOURCE = "local"


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    USER = "user"

    @property
    def is_admin(self) -> bool:
        return self is not Role.USER


@dataclass(frozen=True, slots=True)
class User:
    id: str
    """Stable UUID: survives renames of email or name, never reused."""
    number: int
    """Small stable integer, the base of POSIX uidNumber."""
    username: str
    email: str
    display_name: str
    given_name: str
    family_name: str
    role: Role
    active: bool
    source: str
    external_id: str | None
    external_missing: bool
    """The user's external directory no longer lists them: kept, but refused at login."""
    created_at: datetime
    updated_at: datetime

    @property
    def can_log_in(self) -> bool:
        return self.active and not self.external_missing

    @property
    def is_admin(self) -> bool:
        return self.role.is_admin


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    number: int
    name: str
    description: str
    source: str
    external_id: str | None
    external_missing: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a change: recorded in every audit event."""

    kind: str
    name: str
    ip: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


CLI_ACTOR = Actor("cli", "local")
SYSTEM_ACTOR = Actor("system", "keyhall")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


class AuthFailure(enum.StrEnum):
    """Why a password check failed; fronts must not tell the user which one it was."""

    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - a reason, not a secret
    NO_PASSWORD = "no_password"  # noqa: S105 - a reason, not a secret
    DISABLED = "disabled"
    EXTERNAL_MISSING = "external_missing"
    EXTERNAL_UNAVAILABLE = "external_unavailable"
    """The external directory could not be asked (unreachable, slow): nothing was checked."""
    SECOND_FACTOR = "second_factor"
    """The password was right but the one-time code was missing, wrong or already used."""


@dataclass(frozen=True, slots=True)
class AuthResult:
    user: User | None
    failure: AuthFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.user is not None
