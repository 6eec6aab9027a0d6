"""RFC 6749 §4.1.3 and §6: the token endpoint's grants — authorization code and refresh token.

Authlib authenticates the client (RFC 6749 §2.3.1: basic with form-urlencoded credentials, or
post; `none` for public clients), checks the code's redirect URI and PKCE verifier, and the
refresh token's scope. These classes add the storage rules: a code (`keyhall.oidc.codes`) works
once, and replaying it revokes what it issued (§4.1.2); public clients' refresh tokens rotate,
and replaying a rotated one revokes the family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import grants

from keyhall.directory.models import User
from keyhall.oidc.errors import InvalidGrantError
from keyhall.oidc.grant import Grant, StoredToken, digest
from keyhall.storage.oidc_store import CodeRow

if TYPE_CHECKING:
    from keyhall.oidc.provider import Provider

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True, slots=True)
class RedeemedCode:
    code_hash: str
    row: CodeRow
    grant: Grant
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.grant.scope


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @property
    def provider(self) -> Provider:
        return self.server.provider  # type: ignore[no-any-return]

    def query_authorization_code(self, code: str, client: Any) -> RedeemedCode | None:
        p = self.provider
        row = p.codes.open(code)
        if row is None or row.client_id != client.id or row.expires_at <= p.now():
            return None
        grant = Grant.from_row(
            grant_id=row.grant_id,
            client_id=row.client_id,
            user_id=row.user_id,
            sid=row.sid,
            scope=row.scope,
            details=row.details,
        )
        return RedeemedCode(
            digest(code),
            row,
            grant,
            row.details.get("code_challenge"),
            row.details.get("code_challenge_method"),
        )

    def authenticate_user(self, authorization_code: RedeemedCode) -> User | None:
        return self.provider.active_user(authorization_code.grant.user_id)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        code: RedeemedCode = self.request.authorization_code
        user = self.authenticate_user(code)
        if user is None:
            raise InvalidGrantError("The user of this code can no longer sign in.")
        token = self.provider.issue_tokens(
            code.grant, self.request.client, user, redeeming=(code.code_hash, code.row)
        )
        if token is None:
            # Redeemed before, or by a concurrent request: a replay.
            g = code.grant
            self.provider.store.revoke_grant(g.user_id, g.sid, g.grant_id, self.provider.now())
            raise InvalidGrantError()
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def delete_authorization_code(self, authorization_code: RedeemedCode) -> None:
        """Codes are stored as used with the tokens they buy (`OidcStore.insert_tokens`)."""


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @property
    def provider(self) -> Provider:
        return self.server.provider  # type: ignore[no-any-return]

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        p = self.provider
        row = p.store.token(digest(refresh_token))
        if row is None or row.kind != "refresh":
            return None
        token = StoredToken(row, p.now())
        if not token.is_active():
            return None
        if row.rotated:
            # A rotated refresh token came back: it leaked or was replayed. End the family.
            p.store.revoke_grant(row.user_id, row.sid, row.grant_id, p.now())
            return None
        return token

    def authenticate_user(self, refresh_token: StoredToken) -> User | None:
        return self.provider.active_user(refresh_token.row.user_id)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        stored: StoredToken = self.request.refresh_token
        client = self.request.client
        user = self.authenticate_user(stored)
        if user is None:
            raise InvalidGrantError("The user of this token can no longer sign in.")
        p = self.provider
        grant = stored.grant
        scope = self.request.payload.scope
        if scope:
            granted = set(grant.scope.split())
            grant = replace(grant, scope=" ".join(s for s in scope.split() if s in granted))
        if not client.public:
            token = p.issue_tokens(grant, client, user, refresh=False)
            token["refresh_token"] = self.request.form["refresh_token"]
            return 200, token, self.TOKEN_RESPONSE_HEADER
        # The used token is marked rotated in the commit that stores its successor, by an
        # UPDATE whose row count says who won: of two concurrent uses only one gets tokens.
        rotated = p.issue_tokens(grant, client, user, refresh=True, rotating=stored.row.token_hash)
        if rotated is None:
            # Used by a concurrent request between our read and our write: a replay.
            r = stored.row
            p.store.revoke_grant(r.user_id, r.sid, r.grant_id, p.now())
            raise InvalidGrantError()
        return 200, rotated, self.TOKEN_RESPONSE_HEADER
