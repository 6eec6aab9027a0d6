"""`/v1/groups`: groups and their members. Groups synced from a directory are read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from keyhall.directory import listing
from keyhall.directory.models import LOCAL_SOURCE, Group
from keyhall.directory.view import DirectoryView
from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.pagination import Limit, Offset, Page
from keyhall.web.api.problems import problem_responses

router = APIRouter(tags=["groups"])
ERRORS = problem_responses(401, 403, 404, 409, 422)
GroupPath = Annotated[str, Path(min_length=1, max_length=64)]
Usernames = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=1000)
]


class GroupOut(BaseModel):
    id: str
    name: str
    description: str
    source: str
    read_only: bool
    """Synced from the external directory: members change there, not here."""
    external_missing: bool
    members: list[str]
    created_at: datetime
    updated_at: datetime


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=512)] = ""


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usernames: Usernames


class MembersChanged(BaseModel):
    changed: list[str]
    """The usernames whose membership changed (others already were, or weren't, members)."""


def group_out(view: DirectoryView, group: Group) -> GroupOut:
    return GroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        source=group.source,
        read_only=group.source != LOCAL_SOURCE,
        external_missing=group.external_missing,
        members=listing.member_names(view, group),
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


@router.get("/groups", response_model=Page[GroupOut], responses=ERRORS, summary="List groups")
def list_groups(
    svc: Services,
    actor: AdminActor,
    offset: Offset = 0,
    limit: Limit = 50,
    search: Annotated[str, Query(max_length=256)] = "",
) -> Page[GroupOut]:
    view = svc.directory.view
    page = listing.groups(view, search, offset=offset, limit=limit)
    items = [group_out(view, g) for g in page.items]
    return Page(items=items, total=page.total, offset=offset, limit=limit)


@router.post(
    "/groups", response_model=GroupOut, status_code=201, responses=ERRORS, summary="Create a group"
)
def create_group(body: GroupCreate, svc: Services, actor: AdminActor) -> GroupOut:
    group = svc.directory.create_group(body.name, description=body.description, actor=actor)
    return group_out(svc.directory.view, group)


@router.get("/groups/{name}", response_model=GroupOut, responses=ERRORS, summary="Show a group")
def show_group(name: GroupPath, svc: Services, actor: AdminActor) -> GroupOut:
    return group_out(svc.directory.view, svc.directory.group(name))


@router.delete(
    "/groups/{name}",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    summary="Delete a group",
)
def delete_group(name: GroupPath, svc: Services, actor: AdminActor) -> None:
    svc.directory.delete_group(name, actor=actor)


@router.post(
    "/groups/{name}/members",
    response_model=MembersChanged,
    responses=ERRORS,
    summary="Add members",
)
def add_members(
    name: GroupPath, body: MembersIn, svc: Services, actor: AdminActor
) -> MembersChanged:
    return MembersChanged(changed=svc.directory.add_members(name, body.usernames, actor=actor))


@router.post(
    "/groups/{name}/members/remove",
    response_model=MembersChanged,
    responses=ERRORS,
    summary="Remove members",
)
def remove_members(
    name: GroupPath, body: MembersIn, svc: Services, actor: AdminActor
) -> MembersChanged:
    """A POST rather than DELETE with a body, which many HTTP clients can't send."""
    return MembersChanged(changed=svc.directory.remove_members(name, body.usernames, actor=actor))
