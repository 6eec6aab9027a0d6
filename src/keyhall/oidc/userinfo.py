"""OpenID Connect Core §5.3: the UserInfo endpoint, with RFC 6750 bearer token errors."""

from __future__ import annotations

from typing import Any

from keyhall.oidc.errors import InsufficientScopeError, InvalidTokenError
from keyhall.oidc.provider import Provider


def userinfo(provider: Provider, bearer: str | None) -> dict[str, Any]:
    """The claims an access token (opaque and sealed, or JWT and stored hashed) entitles its
    client to."""
    if not bearer:
        raise InvalidTokenError("Missing access token.")
    stored = provider.token(bearer)
    if stored is None or stored.row.kind != "access" or not stored.is_active():
        raise InvalidTokenError("The access token is invalid, expired or revoked.")
    row = stored.row
    user = provider.active_user(row.user_id)
    client = provider.client(row.client_id)
    if user is None or client is None:
        raise InvalidTokenError("The access token is invalid, expired or revoked.")
    grant = stored.grant
    if "openid" not in grant.scopes:
        raise InsufficientScopeError("The access token was not issued for OpenID Connect.")
    return provider.user_claims(user, client, grant.scope, grant.claims.userinfo)
