"""`/v1/audit`: the audit log, newest first, filtered by action, actor, target and time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from keyhall.storage import audit_log
from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.pagination import Limit, Offset, Page
from keyhall.web.api.problems import problem_responses

router = APIRouter(tags=["audit log"])
ERRORS = problem_responses(401, 403, 422)
Text = Annotated[str | None, Query(max_length=256)]


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    ip: str | None
    details: dict[str, Any]


@router.get("/audit", response_model=Page[EventOut], responses=ERRORS, summary="Audit log")
def audit_events(
    svc: Services,
    actor: AdminActor,
    offset: Offset = 0,
    limit: Limit = 50,
    action: Annotated[
        str | None, Query(max_length=64, description="exact, or a prefix ending in '.'")
    ] = None,
    by: Annotated[str | None, Query(max_length=128, description="actor, e.g. user:alice")] = None,
    target: Text = None,
    outcome: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[AwareDatetime | None, Query(description="from (inclusive)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="to (exclusive)")] = None,
) -> Page[EventOut]:
    f = audit_log.AuditFilter(action, by, target, since, until, outcome)
    page = audit_log.search(svc.directory.store, f, offset=offset, limit=limit)
    items = [
        EventOut(
            id=e.id or 0,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            outcome=e.outcome,
            ip=e.ip,
            details=e.details,
        )
        for e in page.items
    ]
    return Page(items=items, total=page.total, offset=offset, limit=limit)
