"""OpenID Connect Core §5: claims — scope claims, the `claims` request parameter, extra claims.

Claims are computed from the in-memory directory at every issuance (refreshes included), so a
renamed user or a changed group shows up in the next token without logging in again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError

from keyhall.directory.models import User
from keyhall.directory.view import DirectoryView
from keyhall.oidc.clients import Client

# OIDC Core §5.4, and seed 000's table: which claims each scope asks for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "preferred_username", "locale"),
    "email": ("email", "email_verified"),
    "groups": ("groups",),
}
BUILTIN_ADMINS_GROUP = "admins"
BUILTIN_USERS_GROUP = "users"

ClaimSource = Callable[[User, DirectoryView, Client], Any]


def group_names(user: User, view: DirectoryView) -> list[str]:
    """The user's groups plus the built-in `admins` (owner and admins) and `users` (everyone)."""
    names = [BUILTIN_ADMINS_GROUP] if user.is_admin else []
    if user.active:
        names.append(BUILTIN_USERS_GROUP)
    names.extend(n for n in view.group_names_of(user.id) if n not in names)
    return names


def _roles(user: User, view: DirectoryView, client: Client) -> list[str]:
    # OpenCloud's default role mapping (seed 002): claim `roles`, values opencloud<Role>.
    return ["opencloudAdmin"] if user.is_admin else ["opencloudUser"]


STANDARD_CLAIMS: dict[str, ClaimSource] = {
    "name": lambda u, v, c: u.display_name,
    "given_name": lambda u, v, c: u.given_name,
    "family_name": lambda u, v, c: u.family_name,
    "preferred_username": lambda u, v, c: u.username,
    "locale": lambda u, v, c: "en-US",
    "email": lambda u, v, c: u.email,
    # Accounts are created by admins or synced from a directory: their emails are trusted.
    "email_verified": lambda u, v, c: True,
    "groups": lambda u, v, c: group_names(u, v),
}
# Claims a client can have added to every token whatever the scope (`extra_claims=`).
EXTRA_CLAIMS: dict[str, ClaimSource] = {
    **STANDARD_CLAIMS,
    "is_admin": lambda u, v, c: u.is_admin,
    "roles": _roles,
    "quota": lambda u, v, c: c.settings.quota,
}


@dataclass(frozen=True, slots=True)
class ClaimsRequest:
    """OIDC Core §5.5: the claims asked for by name, for the ID token and for userinfo."""

    id_token: tuple[str, ...] = ()
    userinfo: tuple[str, ...] = ()

    def as_json(self) -> dict[str, list[str]]:
        return {"id_token": list(self.id_token), "userinfo": list(self.userinfo)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ClaimsRequest:
        data = data or {}
        return cls(tuple(data.get("id_token", ())), tuple(data.get("userinfo", ())))


def parse_claims_parameter(raw: str | None) -> ClaimsRequest:
    if not raw:
        return ClaimsRequest()
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise InvalidRequestError("The 'claims' parameter is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("The 'claims' parameter must be a JSON object.")

    def names(member: str) -> tuple[str, ...]:
        value = parsed.get(member) or {}
        if not isinstance(value, dict):
            raise InvalidRequestError(f"The 'claims' member '{member}' must be an object.")
        return tuple(k for k in value if isinstance(k, str) and k in EXTRA_CLAIMS)

    return ClaimsRequest(names("id_token"), names("userinfo"))


def claim_names(scope: str, client: Client, requested: Iterable[str]) -> list[str]:
    names: dict[str, None] = {}
    for s in scope.split():
        names.update(dict.fromkeys(SCOPE_CLAIMS.get(s, ())))
    names.update(dict.fromkeys(client.settings.extra_claims))
    names.update(dict.fromkeys(n for n in requested if n in EXTRA_CLAIMS))
    return list(names)


def user_claims(
    user: User, view: DirectoryView, client: Client, scope: str, requested: Iterable[str] = ()
) -> dict[str, Any]:
    """`sub` (the username, seed 000) plus every claim the scope, client or request asks for."""
    claims: dict[str, Any] = {"sub": user.username}
    for name in claim_names(scope, client, requested):
        claims[name] = EXTRA_CLAIMS[name](user, view, client)
    return claims
