"""RFC 6749 §4.1.2: authorization codes that carry their grant, sealed (`keyhall.oidc.sealed`).

Issuing a code writes nothing. What makes it single-use is its digest, stored when it is
redeemed, in the commit that stores the tokens it buys (`OidcStore.insert_tokens`); a second
redemption finds the digest there, and the replay revokes what the first one issued. Digests
are kept until the code would have expired.
"""

from __future__ import annotations

from datetime import UTC, datetime

from keyhall.oidc.sealed import Sealer
from keyhall.storage.oidc_store import CodeRow

_FIELDS = 8


class CodeSeal:
    def __init__(self, secret_key: bytes) -> None:
        self._sealer = Sealer(secret_key, b"keyhall authorization code v1")

    def seal(self, code: CodeRow) -> str:
        return self._sealer.seal(
            [
                code.grant_id,
                code.client_id,
                code.user_id,
                code.sid,
                code.redirect_uri,
                code.scope,
                code.details,
                int(code.expires_at.timestamp()),
            ]
        )

    def open(self, code: str) -> CodeRow | None:
        """The grant a code carries, or None if this instance did not issue it as it is."""
        fields = self._sealer.open(code, _FIELDS)
        if fields is None:
            return None
        grant_id, client_id, user_id, sid, redirect_uri, scope, details, expires = fields
        return CodeRow(
            grant_id,
            client_id,
            user_id,
            sid,
            redirect_uri,
            scope,
            details,
            datetime.fromtimestamp(expires, UTC),
        )
