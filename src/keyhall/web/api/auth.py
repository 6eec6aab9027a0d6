"""RFC 6750: bearer-token authentication of admin API requests with `keyhall token` tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from keyhall.directory.models import Actor
from keyhall.directory.tokens import Tokens
from keyhall.runtime import Instance

_bearer = HTTPBearer(auto_error=False, description="An admin token from `keyhall token create`")


def instance(request: Request) -> Instance:
    inst: Instance = request.app.state.instance
    return inst


def admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller as an audit actor, if it presented a live admin token; 401 otherwise."""
    if credentials is None:
        raise HTTPException(401, "an admin token is required", {"WWW-Authenticate": "Bearer"})
    row = Tokens(instance(request).directory).check(credentials.credentials)
    if row is None:
        # RFC 6750 §3.1: say the token is invalid, not which way.
        raise HTTPException(
            401, "invalid or revoked token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return Actor("token", row.name, ip=request.client.host if request.client else None)


AdminActor = Annotated[Actor, Depends(admin)]
