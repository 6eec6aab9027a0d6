"""RFC 7009: token revocation. Revoking a refresh token revokes its whole grant (§2.1)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from keyhall.oidc.grant import StoredToken
from keyhall.oidc.token import AUTH_METHODS


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        token: StoredToken | None = self.server.provider.token(token_string)
        return token

    def revoke_token(self, token: StoredToken, request: Any) -> None:
        p = self.server.provider
        r = token.row
        if r.kind == "refresh":
            p.store.revoke_grant(r.user_id, r.sid, r.grant_id, p.now())
        else:
            p.store.revoke_tokens(p.now(), token_hash=r.token_hash)
