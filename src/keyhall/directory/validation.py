"""Rules for usernames, emails and names, shared by the CLI, API and importers."""

from __future__ import annotations

import re

from keyhall.errors import InvalidInput

USERNAME_MAX = 32
# POSIX-portable and safe in an LDAP RDN or a URL path without escaping.
_USERNAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,30}[a-z0-9])?")
# Deliberately loose (RFC 5321 allows far more); catches typos, not deliverability.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+")
_GROUP = re.compile(r"[a-z0-9](?:[a-z0-9._ -]{0,62}[a-z0-9])?")
NAME_MAX = 256
RESERVED_USERNAMES = frozenset({"root", "admin", "administrator", "system", "nobody"})
# Built-in groups the LDAP and OIDC fronts expose to let apps spot admins (see groups.py).
RESERVED_GROUP_NAMES = frozenset({"admins", "users"})


def normalize_username(raw: str) -> str:
    username = raw.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            f"invalid username {raw!r}: use 1-{USERNAME_MAX} of a-z, 0-9, '.', '_', '-', "
            "starting and ending with a letter or digit",
            field="username",
        )
    if username in RESERVED_USERNAMES:
        raise InvalidInput(f"username {username!r} is reserved", field="username")
    return username


def normalize_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInput(f"invalid email address {raw!r}", field="email")
    return email


def normalize_group_name(raw: str) -> str:
    name = raw.strip().lower()
    if not _GROUP.fullmatch(name):
        raise InvalidInput(
            f"invalid group name {raw!r}: use 1-64 of a-z, 0-9, '.', '_', '-', space",
            field="name",
        )
    if name in RESERVED_GROUP_NAMES:
        raise InvalidInput(f"group name {name!r} is reserved", field="name")
    return name


def clean_name(raw: str | None, field: str) -> str:
    value = (raw or "").strip()
    if len(value) > NAME_MAX or any(ch in value for ch in "\x00\r\n"):
        raise InvalidInput(f"invalid {field.replace('_', ' ')}", field=field)
    return value


def split_display_name(display_name: str) -> tuple[str, str]:
    """Derive given and family name from a display name when they were not given."""
    given, _, family = display_name.partition(" ")
    return given, family.strip()
