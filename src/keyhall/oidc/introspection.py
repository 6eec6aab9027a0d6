"""RFC 7662: token introspection, for the client the token was issued to.

A token is active only while it is unexpired, unrevoked and its user can still sign in, so a
disabled or deleted user's tokens read `active: false` at once (issue 8).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from keyhall.oidc.grant import StoredToken
from keyhall.oidc.token import AUTH_METHODS


class IntrospectionEndpoint(_IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        p = self.server.provider
        token: StoredToken | None = p.token(token_string)
        if token is None or p.active_user(token.row.user_id) is None:
            return None
        return token

    def check_permission(self, token: StoredToken, client: Any, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: StoredToken) -> dict[str, Any]:
        p = self.server.provider
        row = token.row
        user = p.active_user(row.user_id)
        return {
            "active": True,
            "scope": row.scope,
            "client_id": row.client_id,
            "username": user.username if user else None,
            "token_type": "Bearer" if row.kind == "access" else "refresh_token",
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.issued_at.timestamp()),
            "sub": user.username if user else None,
            "aud": row.client_id,
            "iss": p.issuer,
            "sid": row.sid,
        }
