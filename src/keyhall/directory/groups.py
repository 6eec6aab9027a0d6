"""Built-in groups that let apps tell who is an admin (seed 001): `admins` and `users`.

They are not stored: membership follows from each user's role and state, so it can never drift.
The LDAP front lists them in `ou=groups` and `memberOf`; the OIDC front puts their names in the
`groups` claim. Their names are reserved (see `validation.RESERVED_GROUP_NAMES`).
"""

from __future__ import annotations

from keyhall.directory.models import User

ADMINS = "admins"
USERS = "users"
BUILTIN_GROUPS = (ADMINS, USERS)
DESCRIPTIONS = {
    ADMINS: "Keyhall owner and administrators",
    USERS: "Every active Keyhall user",
}


def builtin_groups_of(user: User) -> list[str]:
    """The built-in groups a user belongs to, in name order."""
    names = []
    if user.is_admin and user.can_log_in:
        names.append(ADMINS)
    if user.can_log_in:
        names.append(USERS)
    return names
