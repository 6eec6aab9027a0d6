"""RFC 6749 §1.3: what an end-user granted a client — carried by codes, then by tokens.

A grant has an id shared by the code and every token issued from it, so that replaying the code
or a rotated refresh token can revoke the whole family (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keyhall.oidc.claims import ClaimsRequest
from keyhall.storage.oidc_store import TokenRow


def new_secret() -> str:
    # Authlib's generate_token() costs ~125 µs (one urandom call per character); this is one.
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: str
    client_id: str
    user_id: str
    sid: str
    scope: str
    auth_time: datetime
    amr: tuple[str, ...]
    nonce: str | None
    claims: ClaimsRequest

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())

    def details(self) -> dict[str, Any]:
        return {
            "auth_time": int(self.auth_time.timestamp()),
            "amr": list(self.amr),
            "nonce": self.nonce,
            "claims": self.claims.as_json(),
        }

    @classmethod
    def from_row(
        cls,
        *,
        grant_id: str,
        client_id: str,
        user_id: str,
        sid: str,
        scope: str,
        details: dict[str, Any],
    ) -> Grant:
        return cls(
            grant_id,
            client_id,
            user_id,
            sid,
            scope,
            datetime.fromtimestamp(details["auth_time"], UTC),
            tuple(details.get("amr", ())),
            details.get("nonce"),
            ClaimsRequest.from_json(details.get("claims")),
        )


class StoredToken:
    """A stored access or refresh token as Authlib's endpoints expect it (`TokenMixin`)."""

    def __init__(self, row: TokenRow, now: datetime) -> None:
        self.row = row
        self.now = now

    @property
    def grant(self) -> Grant:
        r = self.row
        return Grant.from_row(
            grant_id=r.grant_id,
            client_id=r.client_id,
            user_id=r.user_id,
            sid=r.sid,
            scope=r.scope,
            details=r.details,
        )

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.row.client_id)

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.row.expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.row.revoked

    def is_active(self) -> bool:
        return not self.is_expired() and not self.is_revoked()
