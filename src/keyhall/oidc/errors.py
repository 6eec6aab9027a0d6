"""RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6: error codes, each a class carrying its code.

Authlib's classes are the base (its grants raise them); these add the codes it lacks. An error
with a `redirect_uri` goes back to the client; one without is shown to the user, never
redirected (RFC 6749 §4.1.2.1: an unverified redirect URI must not be used).
"""

from __future__ import annotations

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)


class InvalidTokenError(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1."""

    error = "invalid_token"
    status_code = 401


class InsufficientScopeError(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1."""

    error = "insufficient_scope"
    status_code = 403


__all__ = [
    "AccessDeniedError",
    "ConsentRequiredError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidTokenError",
    "LoginRequiredError",
    "OAuth2Error",
    "RequestNotSupportedError",
    "RequestURINotSupportedError",
    "UnsupportedResponseTypeError",
]
