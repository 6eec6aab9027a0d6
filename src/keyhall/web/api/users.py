"""`/v1/users`: list, create (pre-provision), show, change, disable, delete users.

Pre-provisioning (seed 003): `POST /v1/users` with a username and email and no password makes
the account exist before its first login, so apps can share with it; a password is set later
(`PUT /v1/users/{username}/password`) or the user signs in through the external directory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from keyhall.directory import listing
from keyhall.directory.models import Role, User
from keyhall.directory.view import DirectoryView
from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.pagination import Limit, Offset, Page
from keyhall.web.api.problems import problem_responses

router = APIRouter(tags=["users"])
ERRORS = problem_responses(401, 403, 404, 409, 422)
Username = Annotated[str, Field(min_length=1, max_length=64)]
UserPath = Annotated[str, Path(min_length=1, max_length=64)]
Name = Annotated[str, Field(max_length=256)]


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    display_name: str
    given_name: str
    family_name: str
    role: Literal["owner", "admin", "user"]
    active: bool
    source: str
    external_missing: bool
    groups: list[str]
    created_at: datetime
    updated_at: datetime


class UserDetail(UserOut):
    totp: bool
    """Whether the user has a confirmed TOTP second factor."""


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    email: Annotated[str, Field(min_length=3, max_length=254)]
    display_name: Name | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    role: Literal["admin", "user"] = "user"
    password: Annotated[str | None, Field(max_length=1024)] = None
    """Omit to pre-provision: the account exists but can't sign in with a password yet."""
    groups: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] = []


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str | None, Field(min_length=3, max_length=254)] = None
    display_name: Name | None = None
    given_name: Name | None = None
    family_name: Name | None = None


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "user"]


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=1024)]


def user_out(view: DirectoryView, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        given_name=user.given_name,
        family_name=user.family_name,
        role=user.role.value,
        active=user.active,
        source=user.source,
        external_missing=user.external_missing,
        groups=view.group_names_of(user.id),
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


@router.get("/users", response_model=Page[UserOut], responses=ERRORS, summary="List users")
def list_users(
    svc: Services,
    actor: AdminActor,
    offset: Offset = 0,
    limit: Limit = 50,
    search: Annotated[str, Query(max_length=256, description="part of name or email")] = "",
    role: Literal["owner", "admin", "user"] | None = None,
    active: bool | None = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    group: Annotated[str | None, Query(max_length=64, description="members of")] = None,
) -> Page[UserOut]:
    """Ordered by username; `total` counts every match."""
    view = svc.directory.view
    query = listing.UserQuery(search, Role(role) if role else None, active, source, group)
    page = listing.users(view, query, offset=offset, limit=limit)
    return Page(
        items=[user_out(view, u) for u in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses=ERRORS,
    summary="Create or pre-provision a user",
)
def create_user(body: UserCreate, svc: Services, actor: AdminActor) -> UserOut:
    """Every user can use every app at once (seed 001); without a password it is
    pre-provisioned (seed 003): it exists for sharing before its first sign-in."""
    user = svc.directory.create_user(
        body.username,
        body.email,
        actor=actor,
        display_name=body.display_name,
        given_name=body.given_name,
        family_name=body.family_name,
        admin=body.role == "admin",
        password=body.password,
        groups=body.groups,
    )
    return user_out(svc.directory.view, user)


@router.get("/users/{username}", response_model=UserDetail, responses=ERRORS, summary="Show a user")
def show_user(username: UserPath, svc: Services, actor: AdminActor) -> UserDetail:
    user = svc.directory.user(username)
    out = user_out(svc.directory.view, user)
    return UserDetail(**out.model_dump(), totp=svc.credentials.has_totp(user))


@router.patch(
    "/users/{username}", response_model=UserOut, responses=ERRORS, summary="Change a profile"
)
def update_user(username: UserPath, body: UserUpdate, svc: Services, actor: AdminActor) -> UserOut:
    user = svc.directory.update_profile(
        username,
        actor=actor,
        email=body.email,
        display_name=body.display_name,
        given_name=body.given_name,
        family_name=body.family_name,
    )
    return user_out(svc.directory.view, user)


@router.put(
    "/users/{username}/role", response_model=UserOut, responses=ERRORS, summary="Make admin or not"
)
def set_role(username: UserPath, body: RoleIn, svc: Services, actor: AdminActor) -> UserOut:
    user = svc.directory.set_role(username, Role(body.role), actor=actor)
    return user_out(svc.directory.view, user)


@router.put(
    "/users/{username}/active",
    response_model=UserOut,
    responses=ERRORS,
    summary="Enable or disable a user",
)
def set_active(username: UserPath, body: ActiveIn, svc: Services, actor: AdminActor) -> UserOut:
    """Disabling ends the user's sessions and tokens and LDAP binds everywhere (issue 8)."""
    user = svc.directory.set_active(username, body.active, actor=actor)
    return user_out(svc.directory.view, user)


@router.put(
    "/users/{username}/password",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    summary="Set a user's password",
)
def set_password(username: UserPath, body: PasswordIn, svc: Services, actor: AdminActor) -> None:
    """The password policy applies; the user's other sessions end."""
    svc.directory.set_password(username, body.password, actor=actor)


@router.delete(
    "/users/{username}/second-factors",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    summary="Reset two-factor authentication",
)
def reset_second_factors(username: UserPath, svc: Services, actor: AdminActor) -> None:
    """For a user who lost their factors: TOTP, passkeys and recovery codes all go."""
    svc.accounts.factors.reset(svc.directory.user(username), actor=actor)


class InvitationOut(BaseModel):
    sent_to: str


@router.post(
    "/users/{username}/invitation",
    response_model=InvitationOut,
    status_code=202,
    responses=ERRORS | problem_responses(503),
    summary="Mail an invitation to choose a password",
)
def invite(username: UserPath, svc: Services, actor: AdminActor) -> InvitationOut:
    """A link valid for seven days, through the configured SMTP server (503 without one)."""
    return InvitationOut(sent_to=svc.accounts.invite(username, actor=actor))


@router.delete(
    "/users/{username}",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    summary="Delete a user",
)
def delete_user(username: UserPath, svc: Services, actor: AdminActor) -> None:
    """Access ends everywhere at once: sessions, tokens, back-channel logout, LDAP binds."""
    svc.directory.delete_user(username, actor=actor)
