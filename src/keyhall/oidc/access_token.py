"""RFC 6750 bearer tokens, opaque by default or RFC 9068 JWT access tokens per client."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from keyhall.oidc.grant import Grant, new_secret
from keyhall.oidc.id_token import sign
from keyhall.oidc.keys import KeyRing


def mint(
    keys: KeyRing,
    *,
    fmt: str,
    alg: str,
    issuer: str,
    grant: Grant,
    username: str,
    now: datetime,
    lifetime: int,
    extra_claims: dict[str, Any],
) -> str:
    if fmt != "jwt":
        return new_secret()
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
