"""RFC 7009: token revocation. Revoking a refresh token revokes its whole grant (§2.1)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from keyhall.oidc.grant import StoredToken, digest
from keyhall.oidc.token import AUTH_METHODS


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        p = self.server.provider
        row = p.store.token(digest(token_string))
        return None if row is None else StoredToken(row, p.now())

    def revoke_token(self, token: StoredToken, request: Any) -> None:
        store = self.server.provider.store
        if token.row.kind == "refresh":
            r = token.row
            store.revoke_grant(r.user_id, r.sid, r.grant_id)
        else:
            store.revoke_tokens(token_hash=token.row.token_hash)
