"""RFC 7636: Proof Key for Code Exchange, S256 only (RFC 9700 §2.1.1: `plain` is not offered)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7636 import CodeChallenge

from keyhall.oidc.errors import InvalidRequestError


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        # §4.3 defaults a missing method to `plain`, which we don't support: say so.
        if data.get("code_challenge") and data.get("code_challenge_method") is None:
            raise InvalidRequestError("Unsupported 'code_challenge_method': plain")
        # Public clients can't keep a secret: their codes must be bound to a verifier.
        if grant.request.client.public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE with S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: Any) -> str | None:
        return authorization_code.code_challenge  # type: ignore[no-any-return]

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str | None:
        return authorization_code.code_challenge_method  # type: ignore[no-any-return]
