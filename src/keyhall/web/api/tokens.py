"""`/v1/tokens`: admin API tokens — scoped (`admin` or `read`), shown once, revocable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.problems import problem_responses

router = APIRouter(tags=["API tokens"])
ERRORS = problem_responses(401, 403, 404, 409, 422)


class TokenOut(BaseModel):
    name: str
    scope: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)]
    scope: Literal["admin", "read"] = "admin"


class TokenIssued(BaseModel):
    name: str
    scope: str
    token: str
    """The bearer token: shown only in this response, stored as a digest."""


@router.get("/tokens", response_model=list[TokenOut], responses=ERRORS, summary="List tokens")
def list_tokens(svc: Services, actor: AdminActor) -> list[TokenOut]:
    return [
        TokenOut(
            name=r.name,
            scope=r.scope,
            created_by=r.created_by,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
        )
        for r in svc.tokens.list()
    ]


@router.post(
    "/tokens", response_model=TokenIssued, status_code=201, responses=ERRORS, summary="New token"
)
def create_token(body: TokenCreate, svc: Services, actor: AdminActor) -> TokenIssued:
    issued = svc.tokens.create(body.name, actor=actor, scope=body.scope)
    return TokenIssued(name=issued.name, scope=issued.scope, token=issued.token)


@router.delete(
    "/tokens/{name}",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    summary="Revoke a token",
)
def revoke_token(
    name: Annotated[str, Path(min_length=1, max_length=64)], svc: Services, actor: AdminActor
) -> None:
    """It stops working at once."""
    svc.tokens.revoke(name, actor=actor)
