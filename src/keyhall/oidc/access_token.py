"""RFC 6750 bearer tokens, opaque by default or RFC 9068 JWT access tokens per client.

An opaque access token is its token row sealed (`keyhall.oidc.sealed`), not stored: a refresh
then writes nothing, and userinfo reads the row back from the token itself. What can end such a
token early is recorded apart (`OidcStore.revoke_*`, read by `Provider.token`). JWT access
tokens are stored hashed, as refresh tokens are.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from keyhall.oidc.grant import Grant, digest
from keyhall.oidc.id_token import sign
from keyhall.oidc.keys import KeyRing
from keyhall.oidc.sealed import Sealer
from keyhall.storage.oidc_store import TokenRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELDS = 8
CLOCK_SKEW = timedelta(seconds=5)
"""How far apart the clocks of nodes sharing a database may be: a revocation of a user's tokens
also ends those a node with a clock ahead stamped up to this much later."""


def revoked(row: TokenRow, found: Mapping[str, datetime]) -> bool:
    """Whether one of the revocations found for a sealed token (`OidcStore.revocations`) ends
    it. A token, a grant or a session never comes back once revoked; a user does (enabled
    again), and then only tokens issued before count."""
    for key, at in found.items():
        kind = key.partition(":")[0]
        if kind == "user":
            if row.issued_at <= at + CLOCK_SKEW:
                return True
        elif kind == "session":
            # Ending a session spares its offline tokens, stored ones as sealed ones.
            if "offline_access" not in row.scope.split():
                return True
        else:
            return True
    return False


OPENED_KEPT = 1024
"""Opened tokens kept per process: relying parties call userinfo with the same token again and
again, and opening one (base64, AES-GCM, JSON, a digest) is a fifth of such a call's work."""


class SealedTokens:
    """Opaque access tokens: the token row sealed, `token_hash` and flags left out."""

    def __init__(self, secret_key: bytes) -> None:
        self._sealer = Sealer(secret_key, b"keyhall access token v1")
        # Only tokens that opened: what was sealed never changes, and garbage is not kept.
        self._opened: dict[str, TokenRow] = {}

    def seal(self, row: TokenRow) -> str:
        return self._sealer.seal(
            [
                row.grant_id,
                row.client_id,
                row.user_id,
                row.sid,
                row.scope,
                row.details,
                (row.issued_at - _EPOCH) // timedelta(microseconds=1),
                int(row.expires_at.timestamp()),
            ]
        )

    def open(self, token: str) -> TokenRow | None:
        if (kept := self._opened.get(token)) is not None:
            return kept
        row = self._open(token)
        if row is not None:
            if len(self._opened) >= OPENED_KEPT:
                self._opened.clear()  # a sweep now and then is cheaper than an LRU's upkeep
            self._opened[token] = row
        return row

    def _open(self, token: str) -> TokenRow | None:
        fields = self._sealer.open(token, _FIELDS)
        if fields is None:
            return None
        grant_id, client_id, user_id, sid, scope, details, issued, expires = fields
        return TokenRow(
            digest(token),
            "access",
            grant_id,
            client_id,
            user_id,
            sid,
            scope,
            details,
            _EPOCH + timedelta(microseconds=issued),
            datetime.fromtimestamp(expires, UTC),
            revoked=False,
            rotated=False,
        )


def mint_jwt(
    keys: KeyRing,
    *,
    alg: str,
    issuer: str,
    grant: Grant,
    username: str,
    now: datetime,
    lifetime: int,
    extra_claims: dict[str, Any],
) -> str:
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        **extra_claims,
        "iss": issuer,
        "sub": username,
        # RFC 9068 §2.2: aud names the resource; ours are the client's app and our userinfo.
        "aud": [grant.client_id, issuer],
        "client_id": grant.client_id,
        "scope": grant.scope,
        "iat": iat,
        "exp": iat + lifetime,
        "auth_time": int(grant.auth_time.timestamp()),
        "jti": secrets.token_urlsafe(16),
        "sid": grant.sid,
    }
    return sign(keys, alg, claims, typ="at+jwt")
