"""RFC 6750: bearer-token authentication of admin API requests with `keyhall token` tokens.

Every live token may read (GET); changes need a token with the `admin` scope. A token
without the scope a request needs gets 403 `insufficient_scope` (RFC 6750 §3.1).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from keyhall.directory.models import Actor
from keyhall.directory.tokens import Tokens, grants
from keyhall.runtime import Instance

_bearer = HTTPBearer(auto_error=False, description="An admin token from `keyhall token create`")
READ_METHODS = frozenset({"GET", "HEAD"})


def instance(request: Request) -> Instance:
    inst: Instance = request.app.state.instance
    return inst


def admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller as an audit actor, if it presented a live token with the scope needed."""
    if credentials is None:
        raise HTTPException(401, "an admin token is required", {"WWW-Authenticate": "Bearer"})
    row = Tokens(instance(request).directory).check(credentials.credentials, scope="read")
    if row is None:
        # RFC 6750 §3.1: say the token is invalid, not which way.
        raise HTTPException(
            401, "invalid or revoked token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    needed = "read" if request.method in READ_METHODS else "admin"
    if not grants(row, needed):
        raise HTTPException(
            403,
            f"this token's scope is {row.scope!r}; the request needs {needed!r}",
            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'},
        )
    return Actor("token", row.name, ip=request.client.host if request.client else None)


AdminActor = Annotated[Actor, Depends(admin)]
