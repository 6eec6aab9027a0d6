"""`/v1/external`: the external LDAP / Active Directory connector — settings, test, sync, runs."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.problems import problem_responses

router = APIRouter(tags=["external directory"])
ERRORS = problem_responses(401, 403, 422)
Value = str | bool | int | float | list[str] | dict[str, str] | None


class ExternalOut(BaseModel):
    settings: dict[str, Any]
    """Every key with its effective value; secrets show as "(set)" or ""."""
    passes_2fa_through: bool
    last_sync: dict[str, Any] | None


class LoginTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=256)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    totp: Annotated[str, Field(max_length=16)] | None = None


class LoginTestOut(BaseModel):
    ok: bool
    outcome: str
    detail: str | None
    entry: dict[str, Any] | None


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


def raw(value: Value) -> str:
    """A typed JSON value as the text the connector's one settings parser takes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


@router.get("/external", response_model=ExternalOut, responses=ERRORS, summary="Show the connector")
def show_external(svc: Services, actor: AdminActor) -> dict[str, Any]:
    return svc.external.show()


@router.patch("/external", responses=ERRORS, summary="Change connector settings")
def update_external(
    body: Annotated[dict[str, Value], Body(max_length=100)], svc: Services, actor: AdminActor
) -> dict[str, Any]:
    """Keys as in `keyhall external show`; null returns a key to its preset or default.
    Each change is an audit event (secrets never recorded). Answers the settings as shown."""
    return svc.external.set({k: raw(v) for k, v in body.items()}, actor=actor)


@router.post(
    "/external/test", response_model=LoginTestOut, responses=ERRORS, summary="Test a login"
)
def test_login(body: LoginTest, svc: Services, actor: AdminActor) -> LoginTestOut:
    """Checks the password against the directory only; local accounts are not touched."""
    check = svc.external.test_login(body.username, body.password, body.totp)
    found = check.user
    entry = None
    if found is not None:
        entry = {
            "dn": found.dn,
            "external_id": found.external_id,
            "username": found.username,
            "email": found.email,
            "display_name": found.display_name,
            "disabled": found.disabled,
        }
    return LoginTestOut(
        ok=check.ok, outcome=check.outcome.value, detail=check.detail or None, entry=entry
    )


@router.post("/external/sync", responses=ERRORS, summary="Sync now")
def sync_now(svc: Services, actor: AdminActor, body: SyncIn | None = None) -> dict[str, Any]:
    """The run's report; `status` is not "ok" when the sync aborted. The body is optional."""
    dry_run = body.dry_run if body is not None else False
    return svc.external.sync(actor=actor, dry_run=dry_run).as_dict()


@router.get("/external/runs", responses=ERRORS, summary="Last sync reports")
def sync_runs(
    svc: Services,
    actor: AdminActor,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    return svc.external.store.runs(limit=limit)
